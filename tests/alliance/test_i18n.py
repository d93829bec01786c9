"""Chinese is the source language; the alliance's and voice's English catalogues (app
locale directories) are complete, compiled and used."""

from pathlib import Path

import pytest
from django.utils import translation

import nuanxin.alliance
import nuanxin.voice
from tests.common.test_i18n import _entries
from tests.factories.people import StaffFactory
from tests.factories.places import YIJIASHAN

CATALOGUES = [Path(app.__file__).parent / "locale" / "en" / "LC_MESSAGES" / "django.po"
              for app in (nuanxin.alliance, nuanxin.voice)]


@pytest.mark.parametrize("po", CATALOGUES, ids=["alliance", "voice"])
def test_english_catalogue_is_complete_and_compiled(po):
    entries = _entries(po.read_text(encoding="utf-8"))
    assert len(entries) > 50
    assert [m for m, s, _f in entries if not s] == []
    assert [m for m, _s, f in entries if "fuzzy" in f] == []
    assert po.with_suffix(".mo").exists()


def test_english_is_used():
    with translation.override("en"):
        assert translation.gettext("同类别") == "Same category"
        assert translation.gettext("作者没有同意公开，这条心里话不能发布。").startswith(
            "The author did not agree")


@pytest.mark.django_db
def test_api_errors_carry_english(client):
    from tests.factories.people import login

    login(client, StaffFactory(region_code=YIJIASHAN))
    body = client.get("/api/v1/alliance/projects/99999").json()
    assert (body["message"], body["message_en"]) == ("找不到这个项目。", "Project not found.")


@pytest.mark.django_db
def test_community_page_in_english(client):
    client.cookies["django_language"] = "en"
    html = client.get(f"/communities/{YIJIASHAN}/").content.decode()
    assert "Raised most often" in html and "Needs raised" in html


def test_refusals_with_values_are_english_in_message_en():
    from django.utils.translation import gettext_lazy as _

    from nuanxin.alliance.services.common import lazy_format
    from nuanxin.common.errors import ServiceError

    error = ServiceError("capacity_exceeded", lazy_format(
        _("“%(title)s”只剩 %(n)d %(unit)s。"), title="换电柜", n=2, unit="个电池槽"))
    body = error.as_dict()
    assert body["message"] == "“换电柜”只剩 2 个电池槽。"
    assert body["message_en"] == 'Only 2 个电池槽 of "换电柜" left.'

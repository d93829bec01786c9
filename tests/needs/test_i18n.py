"""Chinese is the source language; the needs pages' English catalogue is complete and used."""

from pathlib import Path

import pytest
from django.utils import translation

import nuanxin.needs
from tests.common.test_i18n import _entries
from tests.factories.needs import NeedFactory
from tests.factories.people import WorkerFactory, login

PO = Path(nuanxin.needs.__file__).parent / "locale" / "en" / "LC_MESSAGES" / "django.po"


def test_needs_english_catalogue_is_complete_and_compiled():
    entries = _entries(PO.read_text(encoding="utf-8"))
    assert len(entries) > 200
    assert [m for m, s, _f in entries if not s] == []
    assert [m for m, _s, f in entries if "fuzzy" in f] == []
    assert PO.with_suffix(".mo").exists()
    with translation.override("en"):
        assert translation.gettext("我也遇到了") == "Me too"


@pytest.mark.django_db
def test_worker_pages_in_english(client):
    rider = WorkerFactory()
    need = NeedFactory(raisers=[rider])
    login(client, rider)
    client.cookies["django_language"] = "en"
    page = client.get("/needs/").content.decode()
    assert "My needs" in page and "I have a difficulty / need" in page
    detail = client.get(f"/needs/{need.pk}/").content.decode()
    assert "Progress" in detail and "Charging" in detail

"""Chinese is the source language; the surveys app's English catalogue is complete, compiled
and used (it lives in the app's own locale/ directory)."""

from pathlib import Path

import pytest
from django.test import Client
from django.utils import translation

import nuanxin.surveys
from tests.common.test_i18n import _entries

LOCALE = Path(nuanxin.surveys.__file__).parent / "locale" / "en" / "LC_MESSAGES"


def test_english_catalogue_is_complete_and_compiled():
    entries = _entries((LOCALE / "django.po").read_text(encoding="utf-8"))
    assert len(entries) > 300
    assert [m for m, s, _f in entries if not s] == []
    assert [m for m, _s, f in entries if "fuzzy" in f] == []
    assert (LOCALE / "django.mo").exists()
    with translation.override("en"):
        assert translation.gettext("有的题目还没答好，请看标红的地方。").startswith("Some answers")


@pytest.mark.django_db
def test_api_errors_in_both_languages():
    from tests.factories.people import WorkerFactory

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(WorkerFactory())
    body = client.get("/api/v1/surveys/987654").json()
    assert body["code"] == "survey_not_found"
    assert (body["message"], body["message_en"]) == ("找不到这份问卷。", "Survey not found.")

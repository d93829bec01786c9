"""Chinese is the source language; the energy app's English catalogue (its own locale
directory) is complete, compiled and used, in pages and in API errors."""

from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

import nuanxin.energy
from tests.common.test_i18n import _entries
from tests.factories.people import WorkerFactory

PO = Path(nuanxin.energy.__file__).parent / "locale" / "en" / "LC_MESSAGES" / "django.po"


def test_english_catalogue_is_complete_and_compiled():
    entries = _entries(PO.read_text(encoding="utf-8"))
    assert len(entries) > 300
    assert [m for m, s, _f in entries if not s] == []
    assert [m for m, _s, f in entries if "fuzzy" in f] == []
    assert PO.with_suffix(".mo").exists()


def test_english_is_used():
    with translation.override("en"):
        assert translation.gettext("换电柜正忙，请稍后再试。") == (
            "The cabinet is busy. Please try again shortly.")
        assert translation.gettext("【换电柜告警】烟雾报警") == "[Cabinet alarm] Smoke detected"
        assert translation.ngettext("共 %(n)s 台换电柜", "共 %(n)s 台换电柜", 1) % {"n": 1} == (
            "1 cabinet")
        assert translation.ngettext("共 %(n)s 台换电柜", "共 %(n)s 台换电柜", 3) % {"n": 3} == (
            "3 cabinets")


def test_refusal_hints_are_english():
    # energy/views.py marks these with a `_l` alias, which makemessages does not extract:
    # they are in the catalogue only as long as someone keeps them there.
    from nuanxin.energy.views import REFUSAL_HINTS, STEP_LABELS

    with translation.override("zh-hans"):
        chinese = {code: str(hint) for code, hint in REFUSAL_HINTS.items()}
    with translation.override("en"):
        assert str(REFUSAL_HINTS["busy"]) == (
            "The cabinet is busy. Wait a few seconds and tap again.")
        assert [code for code, hint in REFUSAL_HINTS.items() if str(hint) == chinese[code]] == []
        assert str(STEP_LABELS["opening_return"][0]) == "Empty slot open"


@pytest.mark.django_db
def test_api_errors_carry_english(api):
    body = api.get("/api/v1/cabinets/NOPE-0000").json()
    assert body["code"] == "cabinet_not_found"
    assert (body["message"], body["message_en"]) == ("找不到这个换电柜。", "Cabinet not found.")

    api.force_login(WorkerFactory())
    body = api.get("/api/v1/swaps/999999").json()
    assert (body["message"], body["message_en"]) == ("找不到这次换电。", "Swap not found.")


@pytest.mark.django_db
def test_rider_page_in_english(api):
    api.cookies["django_language"] = "en"
    html = api.get(reverse("energy:nearby")).content.decode()
    assert "Battery-swap cabinets nearby" in html

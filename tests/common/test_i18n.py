"""Chinese is the source language; English must be complete and compiled."""

from pathlib import Path

import pytest
from django.utils import translation

import nuanxin

LOCALE = Path(nuanxin.__file__).parent / "locale"


def _entries(po_text: str):
    """(msgid, msgstr, flags) for each entry of a .po file, multi-line strings joined."""
    entries, current, key, flags = [], {}, None, ""
    for line in [*po_text.splitlines(), ""]:
        if line.startswith("#,"):
            flags = line
        elif line.startswith(("msgid ", "msgstr ", "msgid_plural ", "msgstr[")):
            key, _, rest = line.partition(" ")
            current[key] = rest.strip().strip('"')
        elif line.startswith('"') and key:
            current[key] += line.strip().strip('"')
        elif not line.strip():
            if current.get("msgid"):
                entries.append((current["msgid"], current.get("msgstr", current.get("msgstr[0]")),
                                flags))
            current, key, flags = {}, None, ""
    return entries


def test_english_catalogue_is_complete():
    po = (LOCALE / "en" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    entries = _entries(po)
    assert len(entries) > 100
    missing = [msgid for msgid, msgstr, _flags in entries if not msgstr]
    fuzzy = [msgid for msgid, _msgstr, flags in entries if "fuzzy" in flags]
    assert missing == [], f"untranslated: {missing[:10]}"
    assert fuzzy == [], f"fuzzy: {fuzzy[:10]}"


def test_english_catalogue_is_compiled_and_used():
    assert (LOCALE / "en" / "LC_MESSAGES" / "django.mo").exists()
    with translation.override("en"):
        assert translation.gettext("请先登录。") != "请先登录。"


@pytest.mark.django_db
def test_error_messages_come_in_both_languages(api):
    body = api.get("/api/v1/regions/999999").json()
    assert body["code"] == "region_not_found"
    assert body["message"] == "没有这个行政区划代码。"
    assert body["message_en"] and body["message_en"] != body["message"]
    english = api.get("/api/v1/regions/999999", HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["message"] == english["message_en"]

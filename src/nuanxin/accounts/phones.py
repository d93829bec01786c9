"""Mainland mobile numbers: validation and masking."""

from __future__ import annotations

import re
import unicodedata

from django.utils.translation import gettext_lazy as _

from nuanxin.common.errors import ServiceError

_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")


def normalize_phone(raw: str) -> str:
    """Accept '138 0013 8000', '+86 13800138000', '8613800138000'; return 11 ASCII digits.

    Full-width input from a Chinese keyboard ('１３８…', '＋８６') is folded to ASCII first;
    other Unicode digits are refused, so one number has exactly one spelling.
    """
    digits = unicodedata.normalize("NFKC", raw or "")
    digits = re.sub(r"[\s\-()]", "", digits)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not _MOBILE.match(digits):
        raise ServiceError("invalid_phone", _("请输入正确的 11 位中国大陆手机号。"))
    return digits


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    return f"{phone[:3]}****{phone[-4:]}"

"""Signed cabinet codes. The token names the cabinet; only this server can make one.

The QR sticker on a cabinet encodes `/energy/c/<token>/`: scanning it with the phone's camera
opens the rider's swap page; the app posts the same token to `POST /api/v1/swaps`.
"""

from __future__ import annotations

from django.core import signing
from django.utils.translation import gettext_lazy as _

from nuanxin.common.errors import ServiceError

_SALT = "nuanxin.energy.cabinet"
# A sticker lives on a cabinet for years; rotation happens by reprinting (new key epoch).
MAX_AGE_SECONDS = 3 * 365 * 24 * 3600


def cabinet_token(cabinet_id: int) -> str:
    return signing.dumps({"c": cabinet_id}, salt=_SALT, compress=True)


def cabinet_scan_path(cabinet_id: int) -> str:
    return f"/energy/c/{cabinet_token(cabinet_id)}/"


def cabinet_id_from_token(token: str, *, max_age: int = MAX_AGE_SECONDS) -> int:
    try:
        data = signing.loads(token, salt=_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise ServiceError("qr_expired",
                           _("这个二维码已过期，请扫描换电柜上的新二维码。")) from None
    except (signing.BadSignature, ValueError):
        raise ServiceError("qr_invalid", _("这不是暖新换电柜的有效二维码。")) from None
    if (not isinstance(data, dict) or not isinstance(data.get("c"), int)
            or isinstance(data["c"], bool)):
        raise ServiceError("qr_invalid", _("这不是暖新换电柜的有效二维码。"))
    return data["c"]

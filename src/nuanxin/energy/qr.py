"""Signed cabinet codes. The token names the cabinet; only this server can make one.

The QR sticker on a cabinet encodes `/energy/c/<token>/`: scanning it with the phone's camera
opens the rider's swap page; the app posts the same token to `POST /api/v1/swaps`.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from nuanxin.common.codes import YEAR, SignedCode
from nuanxin.energy.models import Cabinet

# A sticker lives on a cabinet for years; rotation happens by reprinting (new key epoch).
MAX_AGE_SECONDS = 3 * YEAR

CABINET = SignedCode(
    salt="nuanxin.energy.cabinet", field="c", max_age=MAX_AGE_SECONDS,
    invalid=_("这不是暖新换电柜的有效二维码。"),
    expired=_("这个二维码已过期，请扫描换电柜上的新二维码。"))


def cabinet_token(cabinet_id: int) -> str:
    return CABINET.make(cabinet_id)


def cabinet_scan_path(cabinet_id: int) -> str:
    return f"/energy/c/{cabinet_token(cabinet_id)}/"


def cabinet_id_from_token(token: str, *, max_age: int = MAX_AGE_SECONDS) -> int:
    return CABINET.read(token, max_age=max_age)


def scan_purpose(token: str) -> str | None:
    """For the login page reached from a cabinet's QR code."""
    cabinet_id = CABINET.peek(token)
    serial = (Cabinet.objects.filter(pk=cabinet_id, enabled=True)
              .values_list("serial", flat=True).first()) if cabinet_id else None
    return None if serial is None else _("登录后开始在换电柜 %(serial)s 换电") % {"serial": serial}

"""Signed codes (what a QR poster or a shared link carries) and their QR images.

A code is one small JSON object signed with the site's key: a salt per kind of code, one
field naming what it points at, and a maximum age (or none, when the thing it points at
has its own window, like a survey). Only this server can make one; reading one checks
the signature, the age and the shape, and refuses with a clear error.

    CHECKIN = SignedCode(salt="nuanxin.stations.checkin", field="s", max_age=3 * YEAR,
                         invalid=_("这不是暖新服务阵地的有效二维码。"), expired=_("…"))
    token = CHECKIN.make(station.pk);  station_id = CHECKIN.read(token)
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import segno
from django.core import signing
from django.http import HttpResponse

from nuanxin.common.errors import ServiceError
from nuanxin.common.exports import download_response

YEAR = 365 * 24 * 3600
# Medium error correction survives a scuffed or partly covered poster; a 4-module quiet
# zone is what the standard asks for.
ERROR_LEVEL = "m"
BORDER = 4


@dataclass(frozen=True)
class SignedCode:
    salt: str
    field: str  # the one key of the signed object: what the code carries (an id)
    invalid: Any  # the (lazy) message for a code that is not one of ours
    max_age: int | None = None  # seconds; None: no time inside the code at all
    expired: Any = None

    def make(self, value: int) -> str:
        if self.max_age is None:
            return signing.Signer(salt=self.salt).sign_object({self.field: value},
                                                              compress=True)
        return signing.dumps({self.field: value}, salt=self.salt, compress=True)

    def read(self, token: str, *, max_age: int | None = None) -> int:
        try:
            if self.max_age is None:
                data = signing.Signer(salt=self.salt).unsign_object(token)
            else:
                limit = self.max_age if max_age is None else max_age
                data = signing.loads(token, salt=self.salt, max_age=limit)
        except signing.SignatureExpired:
            raise ServiceError("qr_expired", self.expired or self.invalid) from None
        except (signing.BadSignature, ValueError):
            # ValueError: signed with our key and salt but not made by `make` (no
            # timestamp, not JSON): not one of these codes either.
            raise ServiceError("qr_invalid", self.invalid) from None
        value = data.get(self.field) if isinstance(data, dict) else None
        if not isinstance(value, int) or isinstance(value, bool):
            raise ServiceError("qr_invalid", self.invalid)
        return value


def _qr(url: str) -> segno.QRCode:
    return segno.make(url, error=ERROR_LEVEL, micro=False, boost_error=False)


def qr_png(url: str, *, scale: int = 12) -> bytes:
    """A black-on-white PNG; scale 12 prints crisply at A5 from a 300 dpi printer."""
    buffer = io.BytesIO()
    _qr(url).save(buffer, kind="png", scale=scale, border=BORDER)
    return buffer.getvalue()


def qr_svg(url: str, *, title: str = "") -> bytes:
    """A scalable SVG that sizes itself to its container (for posters of any size)."""
    buffer = io.BytesIO()
    _qr(url).save(buffer, kind="svg", scale=10, border=BORDER, xmldecl=True,
                  title=title or None, svgclass=None, lineclass=None, omitsize=False,
                  unit=None)
    return buffer.getvalue()


def qr_file_response(request, url: str, *, kind: str, title: str,
                     filename: str) -> HttpResponse:
    """The code of `url` as a PNG or SVG download (`?download=0` shows it inline). Never
    cached: the signed address inside is a printed poster's secret."""
    if kind == "png":
        content, content_type = qr_png(url), "image/png"
    else:
        content, content_type = qr_svg(url, title=title), "image/svg+xml"
    return download_response(content, filename=f"{filename}.{kind}", content_type=content_type,
                             inline=request.GET.get("download") == "0")

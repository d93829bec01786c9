"""Drawing QR codes (PNG and SVG) with segno: stations' check-in codes, and the same posters
for any other signed address (cabinets' swap codes).

The code holds the absolute address of the worker check-in page with a signed token
(qr.station_token), so any phone camera or WeChat's scanner opens it directly.
"""

from __future__ import annotations

import io

import segno
from django.http import HttpResponse
from django.urls import reverse

from nuanxin.common.exports import download_response
from nuanxin.stations.qr import station_token

# Medium error correction survives a scuffed or partly covered poster; a 4-module quiet
# zone is what the standard asks for.
ERROR_LEVEL = "m"
BORDER = 4


def checkin_url(request, station_id: int) -> str:
    return request.build_absolute_uri(reverse("stations:checkin", args=[station_token(station_id)]))


def _code(url: str) -> segno.QRCode:
    return segno.make(url, error=ERROR_LEVEL, micro=False, boost_error=False)


def qr_png(url: str, *, scale: int = 12) -> bytes:
    """A black-on-white PNG; scale 12 prints crisply at A5 from a 300 dpi printer."""
    buffer = io.BytesIO()
    _code(url).save(buffer, kind="png", scale=scale, border=BORDER)
    return buffer.getvalue()


def qr_svg(url: str, *, title: str = "") -> bytes:
    """A scalable SVG that sizes itself to its container (for posters of any size)."""
    buffer = io.BytesIO()
    _code(url).save(buffer, kind="svg", scale=10, border=BORDER, xmldecl=True,
                    title=title or None, svgclass=None, lineclass=None, omitsize=False,
                    unit=None)
    return buffer.getvalue()



def qr_file_response(request, url: str, *, kind: str, title: str,
                     filename: str) -> HttpResponse:
    """The code of `url` as a PNG or SVG download (`?download=0` shows it inline). Never
    cached by a shared cache: the signed address inside is a printed poster's secret."""
    if kind == "png":
        content, content_type = qr_png(url), "image/png"
    else:
        content, content_type = qr_svg(url, title=title), "image/svg+xml"
    return download_response(content, filename=f"{filename}.{kind}", content_type=content_type,
                             inline=request.GET.get("download") == "0")

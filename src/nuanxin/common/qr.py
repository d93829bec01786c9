"""QR images drawn with segno, and the one poster page every printed code uses.

A poster is what a station, a cabinet or a survey puts on a wall: its name, the words to
act on (扫码签到), the code and a line below it. The app says what the poster says
(`Poster`) and renders `poster_page`; the page (console/qr_poster.html) offers printing on
A4, A5 or A6 and the code as PNG or SVG, and previews the poster at the phone's width.

    return poster_page(request, Poster(
        url=checkin_url(request, station.pk), title=_("签到二维码"), name=station.name,
        org=_("暖新 · 新就业群体服务阵地"), call=_("扫码签到"), alt=_("签到二维码"),
        help=_("打印后贴在门口显眼处。"),
        svg_url=reverse("console:station_qr_svg", args=[station.pk]),
        png_url=reverse("console:station_qr_png", args=[station.pk]),
        crumbs=((reverse("console:stations"), _("服务阵地")),),
        tabs="stations/console/_station_tabs.html"), station=station)
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import segno
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from nuanxin.common.exports import download_response

# Medium error correction survives a scuffed or partly covered poster; a 4-module quiet
# zone is what the standard asks for.
ERROR_LEVEL = "m"
BORDER = 4
POSTER_TEMPLATE = "console/qr_poster.html"
# Paper sizes, each a class of the poster and a named @page rule in console.css. A4 first:
# the paper every office printer holds.
SIZES = ("a4", "a5", "a6")


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


@dataclass(frozen=True)
class Poster:
    url: str  # the absolute address inside the code
    svg_url: str  # the code as SVG (the page shows it with ?download=0)
    png_url: str
    title: Any  # the page's name, as on its tab: 签到二维码
    name: str  # what the code is for: the station's, cabinet's or survey's name
    org: Any  # the poster's first line: who put it up
    call: Any  # the big words: 扫码签到
    alt: Any  # the image's text
    help: Any  # not printed: where to put it up and what the code does
    foot: Any = ""  # the poster's last line
    url_label: Any = _("二维码地址")
    crumbs: tuple[tuple[str, Any], ...] = ()  # (url, label), nearest last
    tabs: str = ""  # the record's tabs template, included with tab="qr"
    status: str = ""  # a template shown after the name in the heading (a survey's status)


def poster_context(request, poster: Poster, **context) -> dict:
    size = request.GET.get("size", "")
    return {"poster": poster, "sizes": SIZES, "size": size if size in SIZES else SIZES[0],
            **context}


def poster_page(request, poster: Poster, **context) -> HttpResponse:
    """The poster page; `context` is what the poster's tabs and status templates read."""
    return render(request, POSTER_TEMPLATE, poster_context(request, poster, **context))

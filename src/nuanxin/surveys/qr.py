"""A published survey's link and QR code (PNG and SVG, drawn with segno).

The code holds the absolute address of the answering page with a signed token
(selectors.survey_token), so WeChat's scanner or any phone camera opens it directly."""

from __future__ import annotations

import io

import segno
from django.urls import reverse

from nuanxin.surveys.selectors import survey_token

ERROR_LEVEL = "m"  # survives a scuffed or partly covered poster
BORDER = 4  # the quiet zone the standard asks for


def answer_url(request, survey_id: int) -> str:
    return request.build_absolute_uri(reverse("surveys:answer", args=[survey_token(survey_id)]))


def _code(url: str) -> segno.QRCode:
    return segno.make(url, error=ERROR_LEVEL, micro=False, boost_error=False)


def qr_png(url: str, *, scale: int = 12) -> bytes:
    buffer = io.BytesIO()
    _code(url).save(buffer, kind="png", scale=scale, border=BORDER)
    return buffer.getvalue()


def qr_svg(url: str, *, title: str = "") -> bytes:
    buffer = io.BytesIO()
    _code(url).save(buffer, kind="svg", scale=10, border=BORDER, xmldecl=True,
                    title=title or None, svgclass=None, lineclass=None)
    return buffer.getvalue()

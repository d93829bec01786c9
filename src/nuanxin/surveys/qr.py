"""A published survey's link, the address its QR poster (common.qr) carries.

The code holds the absolute address of the answering page with a signed token
(selectors.survey_token), so WeChat's scanner or any phone camera opens it directly."""

from __future__ import annotations

from django.urls import reverse

from nuanxin.surveys.selectors import survey_token


def answer_url(request, survey_id: int) -> str:
    return request.build_absolute_uri(reverse("surveys:answer", args=[survey_token(survey_id)]))

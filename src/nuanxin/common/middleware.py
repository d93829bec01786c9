"""Refusals made before a request reaches any view."""

from __future__ import annotations

from nuanxin.common.views import url_too_long

# The web server admits request lines up to 8190 bytes (gunicorn's ceiling, set by
# `nuanxin run` and deploy/); anything between this and that gets our answer in our
# shape (JSON under /api/, a page elsewhere) instead of the server's bare text.
MAX_URL_LENGTH = 4096


class RequestLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if len(request.get_full_path()) > MAX_URL_LENGTH:
            return url_too_long(request)
        return self.get_response(request)

"""Friendly error pages, and JSON errors for anything under /api/."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.static import serve

from nuanxin.common.errors import REQUEST_TOO_LARGE, URL_TOO_LONG, error_body


def _respond(request, status, code, message):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(code, message), status=status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def not_found(request, exception=None):
    return _respond(request, 404, "not_found", _("页面不存在。"))


def server_error(request):
    return _respond(request, 500, "server_error", _("服务器出错了，请稍后再试。"))


def forbidden(request, exception=None):
    return _respond(request, 403, "forbidden", _("没有权限访问这个页面。"))


def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return _respond(request, 413, *REQUEST_TOO_LARGE)
    return _respond(request, 400, "bad_request", _("请求不正确。"))


def url_too_long(request):
    return _respond(request, 414, *URL_TOO_LONG)


# Only these are shown in the browser; any other upload is a download, never a page.
INLINE_MEDIA_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif"}


def media(request, path):
    """An uploaded file, for the demo (production: nginx, deploy/nginx.conf.example).

    A file someone uploaded must never run as a page on this site: no sniffing, no
    scripts even in an SVG or HTML that slipped through, and anything but a plain image
    is offered as a download."""
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    content_type = response.get("Content-Type", "").split(";")[0].strip()
    if content_type not in INLINE_MEDIA_TYPES:
        response["Content-Type"] = "application/octet-stream"
        response["Content-Disposition"] = "attachment"
    return response

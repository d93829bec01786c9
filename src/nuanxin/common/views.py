"""Friendly error pages, and JSON errors for anything under /api/."""

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

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

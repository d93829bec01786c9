"""The JSON API: one NinjaAPI, one router per app, one error shape."""

import functools
from inspect import iscoroutinefunction

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.db import connection
from django.http import Http404, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.urls import URLPattern
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from nuanxin.common.errors import REQUEST_TOO_LARGE, ServiceError, error_body
from nuanxin.common.manifest import mount_routers


class NuanxinAPI(NinjaAPI):
    """NinjaAPI whose wrong-method answers carry the JSON error shape too.

    Ninja answers a method a path does not support with a plain-text 405 straight from its
    path view, bypassing the exception handlers; this wraps each API view to reshape it.
    """

    def _get_urls(self):
        urls = super()._get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern) and not iscoroutinefunction(pattern.callback):
                pattern.callback = self._json_405(pattern.callback)
        return urls

    def _json_405(self, view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            if response.status_code == 405 and not response.get(
                "Content-Type", ""
            ).startswith("application/json"):
                allowed = response.get("Allow", "")
                body = error_body("method_not_allowed", _("不支持这种请求方法。"),
                                  allowed=sorted(m.strip() for m in allowed.split(",") if m))
                response = self.create_response(request, body, status=405)
                response["Allow"] = allowed
            return response

        return wrapped


api = NuanxinAPI(
    title="暖新 Nuanxin API",
    version="1",
    description="Service-centre network for delivery riders, couriers and drivers. "
    "Errors are always JSON: {code, message, message_en}.",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)

mount_routers(api)  # every app's routers, as its manifest declares them


@api.get("/v1/ping", tags=["meta"], summary="A trivial endpoint (benchmark baseline)")
def ping(request):
    return {"status": "ok"}


@api.exception_handler(ServiceError)
def on_service_error(request, exc: ServiceError):
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    fields = []
    for err in exc.errors:
        loc = [str(part) for part in err.get("loc", ()) if part not in ("query", "body", "path")]
        fields.append({"field": ".".join(loc), "problem": err.get("msg", "")})
    body = error_body("invalid_input", _("请求参数不正确。"), fields=fields)
    return api.create_response(request, body, status=400)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    body = error_body("not_authenticated", _("请先登录。"))
    return api.create_response(request, body, status=401)


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return api.create_response(request, error_body("not_found", _("找不到。")), status=404)


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    if exc.status_code == 403 and "CSRF" in str(exc):  # Ninja's session-auth check
        body = error_body("csrf_failed", _("页面已过期，请刷新页面后再试。"))
        return api.create_response(request, body, status=403)
    code = {405: "method_not_allowed", 403: "forbidden"}.get(exc.status_code, "bad_request")
    return api.create_response(request, error_body(code, str(exc)), status=exc.status_code)


@api.exception_handler(RequestDataTooBig)
def on_body_too_big(request, exc):
    return api.create_response(request, error_body(*REQUEST_TOO_LARGE), status=413)


# A body Django cannot read (multipart without a boundary, too many fields, the client gone
# half-way): Django's own handler would answer 400, but inside the API Ninja catches it first.
@api.exception_handler(MultiPartParserError)
@api.exception_handler(SuspiciousOperation)
@api.exception_handler(BadRequest)
@api.exception_handler(UnreadablePostError)
def on_unreadable_body(request, exc):
    body = error_body("malformed_body", _("请求内容的格式不正确。"))
    return api.create_response(request, body, status=400)


@api.exception_handler(Exception)
def on_unexpected(request, exc: Exception):
    if settings.DEBUG:
        raise exc
    import logging

    logging.getLogger("nuanxin.api").exception("unhandled error")
    body = error_body("server_error", _("服务器出错了，请稍后再试。"))
    return api.create_response(request, body, status=500)


def database_vendor() -> str:
    return connection.vendor

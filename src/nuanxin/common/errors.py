"""One error type for every refusal a service makes, rendered the same way everywhere."""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _


class ServiceError(Exception):
    """A refusal with a stable machine code and a translatable message.

    Services raise it; the API turns it into `{"code", "message", "message_en"}` with
    `status`, pages show `message` to the person.
    """

    status = 400

    def __init__(
        self,
        code: str,
        message: str | Promise,
        *,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status
        self.details = details or {}

    def as_dict(self) -> dict[str, Any]:
        return error_body(self.code, self.message, **self.details)


class NotFound(ServiceError):
    status = 404


class PermissionDenied(ServiceError):
    status = 403


def error_body(code: str, message: str | Promise, **details: Any) -> dict[str, Any]:
    with translation.override("en"):
        message_en = str(message)
    body: dict[str, Any] = {"code": code, "message": str(message), "message_en": message_en}
    body.update(details)
    return body


def lazy_format(message: str | Promise, **values: Any) -> Promise:
    """`message % values`, translated only when shown, so an error's `message_en` is English
    too; lazy values (a choice's label) are turned into text by `%s` at the same moment."""
    return lazy(lambda: str(message) % values, str)()


# Refusals of a request before any view sees it, shared by the API and the error pages.
REQUEST_TOO_LARGE = ("request_too_large", _("提交的内容太大了，请删减后再试。"))
URL_TOO_LONG = ("url_too_long", _("网址太长了，请检查链接是否完整正确。"))

"""The one gate for a half-logged-in administrator (password done, TOTP not yet).

Until the second factor is passed the session belongs to nobody: every page sends the
person to the TOTP step, every API call is refused, so the inbox, the data export, the
console, the admin and any page added later are all out of reach without each view having
to remember to check.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.decorators import second_factor_pending
from nuanxin.common.errors import error_body


def _open_paths() -> tuple[str, ...]:
    return (
        reverse("accounts:staff_totp"),
        reverse("accounts:staff_login"),
        reverse("accounts:logout"),
        reverse("accounts:privacy"),
        reverse("api:auth_logout"),
        "/i18n/",
        "/healthz",
        settings.STATIC_URL,
    )


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if second_factor_pending(request) and not request.path.startswith(_open_paths()):
            if request.path.startswith("/api/"):
                body = error_body("totp_required", _("请先完成动态口令验证。"))
                return JsonResponse(body, status=403)
            target = reverse("accounts:staff_totp")
            return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

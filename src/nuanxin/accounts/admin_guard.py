"""Django admin behind the same door as the console: staff login, then TOTP.

Without this, /admin/login/ would let a superuser in with a password alone, and a
half-logged-in administrator (password done, TOTP not yet) could open /admin/. Applied to
the default admin site from AccountsConfig.ready().
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def guard_admin_site(site) -> None:
    if getattr(site, "_nuanxin_guarded", False):
        return
    plain_has_permission = site.has_permission

    def has_permission(request):
        from nuanxin.accounts.decorators import second_factor_pending

        return plain_has_permission(request) and not second_factor_pending(request)

    def login(request, extra_context=None):
        target = request.GET.get("next") or reverse("admin:index")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = reverse("admin:index")
        return redirect(f"{reverse('accounts:staff_login')}?{urlencode({'next': target})}")

    site.has_permission = has_permission
    site.login = login
    site._nuanxin_guarded = True

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "nuanxin.accounts"
    label = "accounts"
    verbose_name = _("账号与权限")

    def ready(self):
        from django.contrib import admin

        from nuanxin.accounts.admin_guard import guard_admin_site

        guard_admin_site(admin.site)
        # common.scoping sits below accounts: tell it who is who, and where the staff gate is.
        from nuanxin.accounts.decorators import staff_gate
        from nuanxin.accounts.selectors import access_scope
        from nuanxin.common.scoping import register

        register(access=access_scope, gate=staff_gate)
        # Register this app's background jobs with huey (its autodiscovery looks for tasks.py).
        from nuanxin.accounts import jobs  # noqa: F401

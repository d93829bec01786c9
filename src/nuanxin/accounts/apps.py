from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from nuanxin.common.manifest import BROAD, Api, Manifest, Tab, Urls


class AccountsConfig(AppConfig):
    name = "nuanxin.accounts"
    label = "accounts"
    verbose_name = _("账号与权限")
    manifest = Manifest(
        tabs=(
            Tab("inbox", _("消息"), "accounts:inbox", icon="nuanxin/icons/inbox.svg", order=40,
                badge="unread_count", element_id="inbox-link"),
            Tab("me", _("我的"), "accounts:profile", icon="nuanxin/icons/me.svg", order=50,
                sections=("accounts:delete", "accounts:privacy")),
        ),
        back={"accounts:delete": "accounts:profile", "accounts:privacy": "accounts:profile"},
        urls=(Urls("accounts/", "nuanxin.accounts.urls"),),
        api=(Api("/v1", "nuanxin.accounts.api.router", order=BROAD),),
    )

    def ready(self):
        from django.contrib import admin

        from nuanxin.accounts import personal_data  # noqa: F401  (registers its check)
        from nuanxin.accounts.admin_guard import guard_admin_site

        guard_admin_site(admin.site)
        # common.scoping sits below accounts: tell it who is who, and where the staff gate is.
        from nuanxin.accounts.decorators import staff_gate
        from nuanxin.accounts.selectors import access_scope
        from nuanxin.common.scoping import register

        register(access=access_scope, gate=staff_gate)
        # Register this app's background jobs with huey (its autodiscovery looks for tasks.py).
        from nuanxin.accounts import jobs  # noqa: F401

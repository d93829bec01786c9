from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "nuanxin.accounts"
    label = "accounts"
    verbose_name = _("账号与权限")

    def ready(self):
        # Register this app's background jobs with huey (its autodiscovery looks for tasks.py).
        from nuanxin.accounts import jobs  # noqa: F401

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from nuanxin.common.manifest import ConsoleLink, Manifest, Tab, Urls


class CommonConfig(AppConfig):
    name = "nuanxin.common"
    label = "common"
    manifest = Manifest(
        tabs=(Tab("services", _("服务"), "shell:services", icon="nuanxin/icons/services.svg",
                  order=30),),
        console=(ConsoleLink("admin", _("系统管理"), "admin:index", order=1000,
                             superuser_only=True),),
        urls=(Urls("services/", "nuanxin.common.urls"),),
    )

    def ready(self):
        from nuanxin.common import manifest  # noqa: F401  (registers the manifest check)

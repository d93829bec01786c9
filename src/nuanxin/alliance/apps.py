from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AllianceConfig(AppConfig):
    name = "nuanxin.alliance"
    label = "alliance"
    verbose_name = _("暖新联盟")

    def ready(self):
        from nuanxin.alliance import figures  # noqa: F401  (register the figures)

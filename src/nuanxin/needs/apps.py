from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NeedsConfig(AppConfig):
    name = "nuanxin.needs"
    label = "needs"
    verbose_name = _("需求清单")

    def ready(self):
        from nuanxin.needs import figures, jobs  # noqa: F401  (register stats and jobs)

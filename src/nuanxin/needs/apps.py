from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NeedsConfig(AppConfig):
    name = "nuanxin.needs"
    label = "needs"
    verbose_name = _("需求清单")

    def ready(self):
        from nuanxin.accounts.personal_data import register_exporter
        from nuanxin.needs import figures, jobs  # noqa: F401  (register stats and jobs)
        from nuanxin.needs.personal_data import export_needs

        register_exporter("needs", export_needs)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnergyConfig(AppConfig):
    name = "nuanxin.energy"
    label = "energy"
    verbose_name = _("换电柜")

    def ready(self):
        from nuanxin.energy import figures, jobs  # noqa: F401  (register figures and jobs)

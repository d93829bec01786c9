from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "nuanxin.surveys"
    label = "surveys"
    verbose_name = _("问卷与走访")

    def ready(self):
        from nuanxin.accounts.personal_data import register_exporter
        from nuanxin.surveys import figures, jobs  # noqa: F401  (register stats and jobs)
        from nuanxin.surveys.personal_data import export_home_visits, export_surveys

        register_exporter("surveys", export_surveys)
        register_exporter("home_visits", export_home_visits)

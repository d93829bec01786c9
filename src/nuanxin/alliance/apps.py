from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AllianceConfig(AppConfig):
    name = "nuanxin.alliance"
    label = "alliance"
    verbose_name = _("暖新联盟")

    def ready(self):
        from nuanxin.alliance import figures  # noqa: F401  (register the figures)
        from nuanxin.alliance.models import PROJECT_REF_PREFIX
        from nuanxin.alliance.selectors import project_ref_labels
        from nuanxin.needs.refs import register_ref_labeller

        register_ref_labeller(PROJECT_REF_PREFIX, project_ref_labels)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from nuanxin.common.manifest import ConsoleLink, Manifest, Tile

# The roles that run surveys, visits and stories (community staff and every administrator).
MANAGERS = frozenset({"community_staff", "street_admin", "district_admin", "city_admin",
                      "province_admin"})
VISIT_PAGES = tuple(f"surveys_console:{name}" for name in (
    "visit_create", "visit_detail", "visit_follow_up", "plan", "plan_quick", "coverage"))


class SurveysConfig(AppConfig):
    name = "nuanxin.surveys"
    label = "surveys"
    verbose_name = _("问卷与走访")
    manifest = Manifest(
        tiles=(Tile("surveys", _("问卷"), "surveys:list", icon="nuanxin/icons/survey.svg",
                    order=40, hint=_("说说您的想法")),),
        console=(
            ConsoleLink("surveys", _("问卷"), "surveys_console:list", order=80, roles=MANAGERS,
                        sections=("surveys_console",)),
            ConsoleLink("visits", _("两问大家访"), "surveys_console:visits", order=90,
                        roles=MANAGERS, sections=VISIT_PAGES),
        ),
        back={"surveys": "surveys:list"},
    )

    def ready(self):
        from nuanxin.accounts.personal_data import register_exporter
        from nuanxin.surveys import figures, jobs  # noqa: F401  (register stats and jobs)
        from nuanxin.surveys.personal_data import export_home_visits, export_surveys

        register_exporter("surveys", export_surveys)
        register_exporter("home_visits", export_home_visits)

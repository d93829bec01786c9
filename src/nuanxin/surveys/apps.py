from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.roles import MANAGER_ROLES
from nuanxin.common.manifest import Api, ConsoleLink, Manifest, Seeder, Tile, Urls

VISIT_PAGES = tuple(f"surveys_console:{name}" for name in (
    "visit_create", "visit_detail", "visit_follow_up", "plan", "plan_quick", "coverage"))



def seed_demo(ctx) -> None:
    from nuanxin.surveys.demo import seed_surveys

    seed_surveys(ctx.rng, now=ctx.now)


class SurveysConfig(AppConfig):
    name = "nuanxin.surveys"
    label = "surveys"
    verbose_name = _("问卷与走访")
    manifest = Manifest(
        tiles=(Tile("surveys", _("问卷"), "surveys:list", icon="nuanxin/icons/survey.svg",
                    order=40, hint=_("说说您的想法")),),
        console=(
            ConsoleLink("surveys", _("问卷"), "surveys_console:list", order=80, roles=MANAGER_ROLES,
                        sections=("surveys_console",)),
            ConsoleLink("visits", _("两问大家访"), "surveys_console:visits", order=90,
                        roles=MANAGER_ROLES, sections=VISIT_PAGES),
        ),
        back={"surveys": "surveys:list"},
        urls=(Urls("console/surveys/", "nuanxin.surveys.console_urls"),
              Urls("surveys/", "nuanxin.surveys.urls")),
        api=(Api("/v1/surveys", "nuanxin.surveys.api.router"),),
        # Home visits raise needs.
        seeders=(Seeder("surveys", seed_demo, order=50, after=("people", "needs")),),
        figures="nuanxin.surveys.figures",
        exporters={"surveys": "nuanxin.surveys.personal_data.export_surveys",
                   "home_visits": "nuanxin.surveys.personal_data.export_home_visits"},
    )

    def ready(self):
        from nuanxin.surveys import jobs  # noqa: F401  (register the jobs)

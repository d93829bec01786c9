from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from nuanxin.common.manifest import Api, ConsoleLink, Manifest, Seeder, Tile, Urls


def seed_demo(ctx) -> None:
    from nuanxin.accounts.models import User, UserKind
    from nuanxin.needs.demo import seed_needs

    riders = list(User.objects.filter(kind=UserKind.WORKER).order_by("pk")[:2000])
    seed_needs(ctx.rng, workers=riders, now=ctx.now)


class NeedsConfig(AppConfig):
    name = "nuanxin.needs"
    label = "needs"
    verbose_name = _("需求清单")
    manifest = Manifest(
        tiles=(
            Tile("need_new", _("我有困难"), "needs:new", icon="nuanxin/icons/help.svg", order=30,
                 hint=_("反映困难和需求")),
            Tile("needs", _("我的需求"), "needs:mine", icon="nuanxin/icons/needs.svg", order=35,
                 hint=_("看办理进度")),
        ),
        console=(ConsoleLink("needs", _("需求清单"), "needs_console:list", order=20,
                             sections=("needs_console",)),),
        back={"needs": "needs:mine"},
        urls=(Urls("console/needs/", "nuanxin.needs.console_urls"),
              Urls("needs/", "nuanxin.needs.urls")),
        api=(Api("/v1/needs", "nuanxin.needs.api.router"),),
        seeders=(Seeder("needs", seed_demo, order=40, after=("regions", "people")),),
        figures="nuanxin.needs.figures",
        exporters={"needs": "nuanxin.needs.personal_data.export_needs"},
    )

    def ready(self):
        from nuanxin.needs import jobs  # noqa: F401  (register the jobs)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from nuanxin.common.manifest import BROAD, Api, ConsoleLink, Manifest, Seeder, Tab, Tile, Urls


def seed_demo(ctx) -> None:
    from nuanxin.energy.demo import seed_energy

    seed_energy(ctx.rng, now=ctx.now, demo_rider_phone=ctx.demo_rider_phone)



class EnergyConfig(AppConfig):
    name = "nuanxin.energy"
    label = "energy"
    verbose_name = _("换电柜")
    manifest = Manifest(
        tabs=(Tab("energy", _("换电"), "energy:nearby", icon="nuanxin/icons/swap.svg", order=20,
                  sections=("energy",)),),
        tiles=(
            Tile("energy", _("附近换电柜"), "energy:nearby", icon="nuanxin/icons/swap.svg",
                 order=20, hint=_("扫码换满电电池")),
            Tile("battery", _("我的电池"), "energy:me", icon="nuanxin/icons/battery.svg",
                 order=25, hint=_("套餐、电量和换电记录")),
        ),
        console=(ConsoleLink("energy", _("换电柜"), "energy_console:overview", order=30,
                             sections=("energy_console",)),),
        back={"energy": "energy:nearby", "energy:swap": "energy:me"},
        urls=(Urls("console/energy/", "nuanxin.energy.console_urls"),
              Urls("energy/", "nuanxin.energy.urls")),
        api=(Api("/v1", "nuanxin.energy.api.router", order=BROAD),),
        seeders=(Seeder("energy", seed_demo, order=80, after=("stations", "people")),),
        figures="nuanxin.energy.figures",
        exporters={"energy": "nuanxin.energy.personal_data.export_energy"},
        login_purposes={"energy:scan": "nuanxin.energy.qr.scan_purpose"},
    )

    def ready(self):
        from nuanxin.energy import jobs  # noqa: F401  (register the jobs)

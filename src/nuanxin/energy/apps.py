from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from nuanxin.common.manifest import ConsoleLink, Manifest, Tab, Tile


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
    )

    def ready(self):
        from nuanxin.energy import figures, jobs  # noqa: F401  (register figures and jobs)

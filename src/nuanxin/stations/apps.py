from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from nuanxin.common.manifest import ConsoleLink, Manifest, Tab, Tile


class StationsConfig(AppConfig):
    name = "nuanxin.stations"
    label = "stations"
    verbose_name = _("服务阵地")
    manifest = Manifest(
        tabs=(Tab("home", _("首页"), "stations:home", icon="nuanxin/icons/home.svg", order=10,
                  sections=("stations",)),),
        tiles=(Tile("stations", _("附近驿站"), "stations:home", icon="nuanxin/icons/station.svg",
                    order=10, hint=_("歇脚、热水、充电")),),
        console=(
            ConsoleLink("stations", _("服务阵地"), "console:stations", order=10,
                        sections=("console",)),
            ConsoleLink("campaigns", _("节假日不打烊"), "console:campaigns", order=60,
                        sections=("console:campaign_detail",)),
            ConsoleLink("import", _("批量导入/导出"), "console:import", order=70),
        ),
        back={"stations": "stations:home"},
    )

    def ready(self):
        from nuanxin.accounts.personal_data import register_exporter

        register_exporter("checkins", export_checkins)


def export_checkins(user) -> list[dict]:
    """A worker's own visits, for their personal-data export."""
    return [
        {"station": name, "station_id": station_id, "at": at.isoformat()}
        for station_id, name, at in user.checkins.order_by("at").values_list(
            "station_id", "station__name", "at"
        )
    ]

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from nuanxin.common.manifest import BROAD, LAST, Api, ConsoleLink, Manifest, Tab, Tile, Urls


def export_checkins(user) -> list[dict]:
    """A worker's own visits, for their personal-data export."""
    return [
        {"station": name, "station_id": station_id, "at": at.isoformat()}
        for station_id, name, at in user.checkins.order_by("at").values_list(
            "station_id", "station__name", "at"
        )
    ]


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
        # The console's own pages sit at its root, after the apps' console/<app>/ pages.
        urls=(Urls("console/", "nuanxin.stations.console_urls", order=BROAD),
              Urls("", "nuanxin.stations.urls", order=LAST)),
        api=(Api("/v1/stations", "nuanxin.stations.api.router"),
             Api("/v1", "nuanxin.stations.api.feeds", order=BROAD)),
        exporters={"checkins": export_checkins},
        login_purposes={"stations:checkin": "nuanxin.stations.qr.checkin_purpose"},
    )

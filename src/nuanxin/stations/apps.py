from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StationsConfig(AppConfig):
    name = "nuanxin.stations"
    label = "stations"
    verbose_name = _("服务阵地")

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

"""Stations made through stations.services.station_create, so the tests exercise the same
path as the console (tests.factories.places.StationFactory writes rows directly instead)."""

from __future__ import annotations

import itertools

from nuanxin.accounts.models import User
from nuanxin.stations import services
from nuanxin.stations.services import StationData
from tests.factories.people import SuperuserFactory
from tests.factories.places import YIJIASHAN, YIJIASHAN_POINT

_seq = itertools.count(1)


def station_data(
    *,
    region_code: str = YIJIASHAN,
    point: tuple[float, float] = YIJIASHAN_POINT,
    name: str = "义驾山社区党群服务中心",
    **overrides,
) -> StationData:
    values = {
        "name": name,
        "type": "center",
        "region_code": region_code,
        "lat": point[0],
        "lng": point[1],
        "address": "稠城街道义驾山路 1 号",
        "amenities": ("hot_water", "phone_charging"),
    }
    values.update(overrides)
    return StationData(**values)


def make_station(
    *,
    region_code: str = YIJIASHAN,
    point: tuple[float, float] = YIJIASHAN_POINT,
    name: str | None = None,
    hours: list[tuple[int, int, int]] | None = None,
    user: User | None = None,
    **overrides,
):
    """A station created through the service by a superuser (or `user`)."""
    user = user or SuperuserFactory()
    station = services.station_create(
        user=user,
        data=station_data(region_code=region_code, point=point,
                          name=name or f"服务站{next(_seq)}", **overrides),
    )
    if hours is not None:
        services.station_set_hours(user=user, station_id=station.pk, spans=hours)
    return station

"""Small builders for the station tests: places, staff at a level, workers, stations.

People come from the accounts factories; stations are made through
stations.services.station_create, so the tests exercise the same path as the console.
"""

from __future__ import annotations

import itertools

from nuanxin.accounts.models import User, UserKind
from nuanxin.geo.models import Region, RegionLevel
from nuanxin.stations import services
from nuanxin.stations.services import StationData
from tests.accounts.factories import StaffFactory, WorkerFactory

YIJIASHAN = "330782001001"  # 义乌市稠城街道义驾山社区
CHOUCHENG = "330782001"  # 义乌市稠城街道
YIWU = "330782"
JINHUA = "330700"
ZHEJIANG = "330000"
CHUITAI = "330304001001"  # 温州市瓯海区娄桥街道吹台社区
OTHER_CHOUCHENG = "330782001099"  # a test-only community in 稠城街道

# WGS-84 points inside each place's district.
YIJIASHAN_POINT = (29.3152, 120.0786)
CHUITAI_POINT = (27.9593, 120.6199)
OTHER_CHOUCHENG_POINT = (29.3060, 120.0750)
HANGZHOU_POINT = (30.2590, 120.1490)

_seq = itertools.count(1)


def other_choucheng_community() -> Region:
    region, _ = Region.objects.get_or_create(
        code=OTHER_CHOUCHENG,
        defaults={"name": "测试社区", "level": RegionLevel.COMMUNITY, "parent_id": CHOUCHENG,
                  "center_lat": OTHER_CHOUCHENG_POINT[0],
                  "center_lng": OTHER_CHOUCHENG_POINT[1], "is_demo": True},
    )
    return region


def make_staff(role: str, region_code: str) -> User:
    return StaffFactory(role=role, region_code=region_code)


def make_superuser() -> User:
    return User.objects.create_superuser(
        username=f"root{next(_seq)}", password="a-long-test-password", kind=UserKind.STAFF
    )


def make_worker() -> User:
    return WorkerFactory()


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
    user = user or make_superuser()
    station = services.station_create(
        user=user,
        data=station_data(region_code=region_code, point=point,
                          name=name or f"服务站{next(_seq)}", **overrides),
    )
    if hours is not None:
        services.station_set_hours(user=user, station_id=station.pk, spans=hours)
    return station

"""Places: the article's regions by code, their organisation units, and stations.

The region tree (Zhejiang's province, cities, districts and the article's streets and
communities) is loaded once per test session by tests/conftest.py, so everything here looks
regions up by code; the test-only places (`next_door()`, `other_street()`) are added on
demand, inside real district boundaries.

    region(YIJIASHAN)                        # the Region row of 义驾山社区
    org_unit_for(CHUITAI)                    # the unit that owns needs and staff there
    ensure_units(YIJIASHAN, CHUITAI)         # units for each place and every level above it
    OrgUnitFactory(region_code=CHUITAI)      # one unit per region and name
    next_door()                              # a second community in 稠城街道 (its code)
    StationFactory(region_code=CHUITAI, hours=ROUND_THE_CLOCK, amenities=["toilet"])
"""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from nuanxin.accounts.models import OrgUnit
from nuanxin.geo.models import Region, RegionLevel
from nuanxin.geo.spatial import cell_of
from nuanxin.stations.amenities import bits_for
from nuanxin.stations.models import OpeningSpan, Station, StationType
from nuanxin.stations.services import bump_index_version

# The article's chain in 义乌 and its other named communities (GB/T 2260 codes + 3 + 3).
ZHEJIANG = "330000"
JINHUA = "330700"
YIWU = "330782"  # 义乌市
CHOUCHENG = "330782001"  # 义乌市稠城街道
YIJIASHAN = "330782001001"  # 义乌市稠城街道义驾山社区
OUHAI = "330304"  # 温州市瓯海区
LOUQIAO = "330304001"  # 温州市瓯海区娄桥街道
CHUITAI = "330304001001"  # 温州市瓯海区娄桥街道吹台社区
QIANJIANGYUAN = "330102001001"  # 杭州市上城区四季青街道钱江苑社区
HAIJINGYUAN = "330212001001"  # 宁波市鄞州区潘火街道海璟园社区
YANGHONG = "331004001001"  # 台州市路桥区路桥街道洋洪社区
YUXIANGKOU = "330522001001"  # 湖州市长兴县雉城街道鱼巷口社区
CANGQIAN = "330110001001"  # 杭州市余杭区仓前街道仓前社区
CHENGDONG = "330902001001"  # 舟山市定海区昌国街道城东社区

# Test-only places, made by next_door() and other_street().
NEXT_DOOR = "330782001098"  # 隔壁社区, a second community in 稠城街道
OTHER_STREET = "330782998"  # 测试街道, a second street in 义乌市

# WGS-84 points inside each place's district.
YIJIASHAN_POINT = (29.3152, 120.0786)
CHUITAI_POINT = (27.9593, 120.6199)
NEXT_DOOR_POINT = (29.3060, 120.0750)
HANGZHOU_POINT = (30.2590, 120.1490)


def region(code: str) -> Region:
    return Region.objects.get(code=code)


def regions_back() -> None:
    """The region tree back in place if a transactional test emptied the tables (the tree
    is loaded once per session, and such tests truncate everything afterwards)."""
    from nuanxin.geo.selectors import reset_locate_index
    from nuanxin.geo.services import regions_load_zhejiang

    if not Region.objects.filter(code=YIJIASHAN).exists():
        regions_load_zhejiang()
        reset_locate_index()


def next_door() -> str:
    """The code of 隔壁社区, a test-only second community in 稠城街道 (made if missing)."""
    Region.objects.get_or_create(code=NEXT_DOOR, defaults={
        "name": "隔壁社区", "level": RegionLevel.COMMUNITY, "parent_id": CHOUCHENG,
        "center_lat": NEXT_DOOR_POINT[0], "center_lng": NEXT_DOOR_POINT[1], "is_demo": True})
    return NEXT_DOOR


def other_street() -> Region:
    """测试街道, a test-only second street in 义乌市, with no communities of its own."""
    street, _ = Region.objects.get_or_create(code=OTHER_STREET, defaults={
        "name": "测试街道", "level": RegionLevel.STREET, "parent_id": YIWU, "is_demo": True})
    return street


def org_unit_for(region_code: str) -> OrgUnit:
    """The unit of a region (its first, as the demo's ensure_org_units makes one), made if
    missing: needs are owned by it and staff placed there belong to it."""
    place = region(region_code)
    unit = OrgUnit.objects.filter(region=place).order_by("pk").first()
    return unit or OrgUnit.objects.create(region=place, name=f"{place.name}党群服务中心")


def ensure_units(*codes: str) -> None:
    """Units for each region and every level above it (the escalation chain)."""
    for code in codes:
        node = region(code)
        while node is not None:
            org_unit_for(node.code)
            node = node.parent


class OrgUnitFactory(DjangoModelFactory):
    class Meta:
        model = OrgUnit
        django_get_or_create = ("region", "name")

    class Params:
        region_code = YIJIASHAN

    region = factory.LazyAttribute(lambda o: region(o.region_code))
    name = factory.LazyAttribute(lambda o: f"{o.region.name}党群服务中心")


EVERY_DAY_8_TO_20 = [(day, 8 * 60, 20 * 60) for day in range(7)]
ROUND_THE_CLOCK = [(day, 0, 24 * 60) for day in range(7)]

# Up to ~60 m around the region's centre, so a row of stations does not stack on one point
# but stays well inside the district.
_OFFSETS = [(0.0, 0.0), (0.0004, 0.0), (0.0, 0.0004), (-0.0004, 0.0), (0.0, -0.0004),
            (0.0003, 0.0003), (-0.0003, -0.0003), (0.0003, -0.0003), (-0.0003, 0.0003)]


class StationFactory(DjangoModelFactory):
    """A station written straight to the database (fast, any shape a test needs), then the
    nearby index version bumped, as every station write must. To test the console's path,
    go through nuanxin.stations.services.station_create instead.

    hours: (weekday, opens, closes) rows in minutes; default 08:00–20:00 every day; pass
    [] for a station that is never open.
    """

    class Meta:
        model = Station
        skip_postgeneration_save = True

    class Params:
        region_code = YIJIASHAN
        amenities = ("hot_water", "phone_charging")

    name = factory.Sequence(lambda n: f"测试服务站{n:04d}")
    type = StationType.CENTER
    region = factory.LazyAttribute(lambda o: region(o.region_code))
    address = factory.Sequence(lambda n: f"测试路 {n} 号")
    lat = factory.LazyAttributeSequence(
        lambda o, n: round(o.region.center_lat + _OFFSETS[n % len(_OFFSETS)][0], 6))
    lng = factory.LazyAttributeSequence(
        lambda o, n: round(o.region.center_lng + _OFFSETS[n % len(_OFFSETS)][1], 6))
    h3_cell = factory.LazyAttribute(lambda o: cell_of(o.lat, o.lng))
    amenity_bits = factory.LazyAttribute(lambda o: bits_for(o.amenities))
    contact_name = "张老师"
    contact_phone = "0579-85550000"
    night_light = False
    is_active = True

    @factory.post_generation
    def hours(obj, create, extracted, **kwargs):  # noqa: N805
        if not create:
            return
        spans = EVERY_DAY_8_TO_20 if extracted is None else extracted
        OpeningSpan.objects.bulk_create(
            OpeningSpan(station=obj, weekday=w, opens=o, closes=c) for w, o, c in spans
        )

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        super()._after_postgeneration(instance, create, results)
        if create:
            bump_index_version([instance.pk])

"""factory_boy factories for stations and the staff who manage them; other apps may reuse.

Stations are written straight to the database (fast, any shape a test needs) and then
bump the nearby index version, as every station write must. Regions come from the tree
tests/conftest.py loads once per session, so a `region_code` must name a loaded region.
"""

from __future__ import annotations

import itertools

import factory
from factory.django import DjangoModelFactory

from nuanxin.accounts.models import OrgUnit, StaffRole, User, UserKind
from nuanxin.accounts.services import staff_create
from nuanxin.geo.models import Region
from nuanxin.geo.spatial import cell_of
from nuanxin.stations.amenities import bits_for
from nuanxin.stations.models import OpeningSpan, Station, StationType
from nuanxin.stations.services import bump_index_version

YIJIASHAN = "330782001001"  # 义乌市稠城街道义驾山社区
CHOUCHENG = "330782001"  # 义乌市稠城街道
YIWU = "330782"  # 义乌市
CHUITAI = "330304001001"  # 温州市瓯海区娄桥街道吹台社区
QIANJIANGYUAN = "330102001001"  # 杭州市上城区四季青街道钱江苑社区

EVERY_DAY_8_TO_20 = [(day, 8 * 60, 20 * 60) for day in range(7)]
ROUND_THE_CLOCK = [(day, 0, 24 * 60) for day in range(7)]

_phones = itertools.count(1)

# Up to ~60 m around the region's centre, so a row of stations does not stack on one point
# but stays well inside the district.
_OFFSETS = [(0.0, 0.0), (0.0004, 0.0), (0.0, 0.0004), (-0.0004, 0.0), (0.0, -0.0004),
            (0.0003, 0.0003), (-0.0003, -0.0003), (0.0003, -0.0003), (-0.0003, 0.0003)]


def region(code: str) -> Region:
    return Region.objects.get(code=code)


class StationFactory(DjangoModelFactory):
    """`StationFactory(region_code=CHUITAI, hours=ROUND_THE_CLOCK, amenities=["toilet"])`.

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
    def hours(obj, create, extracted, **kwargs):
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


def org_unit_for(region_code: str) -> OrgUnit:
    place = region(region_code)
    unit, _ = OrgUnit.objects.get_or_create(region=place, name=f"{place.name}党群服务中心")
    return unit


class StaffFactory(factory.Factory):
    """A staff member made through accounts.services.staff_create, with an OrgUnit per
    region: `StaffFactory(role=StaffRole.DISTRICT_ADMIN, region_code=YIWU)`."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"console-staff-{n}")
    password = "a-long-test-password"
    role = StaffRole.COMMUNITY_STAFF
    region_code = YIJIASHAN

    @classmethod
    def _create(cls, model_class, *, username, password, role, region_code):
        return staff_create(username=username, password=password, role=role,
                            org_unit=org_unit_for(region_code))

    _build = _create


class WorkerFactory(DjangoModelFactory):
    class Meta:
        model = User

    phone = factory.LazyFunction(lambda: f"139{next(_phones):08d}")
    username = factory.LazyAttribute(lambda o: o.phone)
    kind = UserKind.WORKER


def console_client(client, user):
    """Log `user` in on a test client as the console expects: administrators also carry
    the session flag that says the TOTP second factor was passed."""
    from nuanxin.accounts.decorators import SESSION_TOTP_OK

    client.force_login(user)
    session = client.session
    session[SESSION_TOTP_OK] = True
    session.save()
    return client

"""factory_boy factories for people; other apps' tests may import them.

The region tree (province, cities, districts and the article's streets and communities,
e.g. 330782001 稠城街道 / 330782001001 义驾山社区, 330304001001 吹台社区) is loaded once per
test session by tests/conftest.py, so factories look regions up by code.

    WorkerFactory()                                   # consented, no home community
    WorkerFactory(home_region_code="330782001001")    # lives in 义驾山社区
    StaffFactory(role="district_admin")               # at 义乌市 (330782) by default
    StaffFactory(role="community_staff", region_code="330304001001")
    StaffFactory(role="city_admin", totp=True)        # second factor already enrolled
    StaffFactory.password                             # every staff user's password
"""

from __future__ import annotations

import factory
import pyotp
from django.conf import settings
from django.utils import timezone
from factory.django import DjangoModelFactory

from nuanxin.accounts.models import (
    ConsentRecord,
    Occupation,
    OrgUnit,
    StaffProfile,
    StaffRole,
    User,
    UserKind,
    WorkerProfile,
)
from nuanxin.geo.models import Region

# Where each role sits when no region is given: the 义乌 chain from the article.
DEFAULT_REGION_FOR_ROLE = {
    StaffRole.STATION_KEEPER: "330782001001",
    StaffRole.COMMUNITY_STAFF: "330782001001",
    StaffRole.STREET_ADMIN: "330782001",
    StaffRole.DISTRICT_ADMIN: "330782",
    StaffRole.CITY_ADMIN: "330700",
    StaffRole.PROVINCE_ADMIN: "330000",
}
STAFF_PASSWORD = "warm-station-2026"


def region(code: str) -> Region:
    return Region.objects.get(code=code)


class OrgUnitFactory(DjangoModelFactory):
    class Meta:
        model = OrgUnit
        django_get_or_create = ("region", "name")

    class Params:
        region_code = "330782001001"

    region = factory.LazyAttribute(lambda o: Region.objects.get(code=o.region_code))
    name = factory.LazyAttribute(lambda o: f"{o.region.name}党群服务中心")


class WorkerProfileFactory(DjangoModelFactory):
    class Meta:
        model = WorkerProfile
        skip_postgeneration_save = True

    class Params:
        home_region_code: str | None = None

    user = factory.SubFactory("tests.accounts.factories.WorkerFactory", profile=None)
    occupation = Occupation.FOOD_DELIVERY
    platforms = factory.LazyFunction(lambda: ["美团"])
    home_region = factory.LazyAttribute(
        lambda o: Region.objects.get(code=o.home_region_code) if o.home_region_code else None
    )
    consent_version = factory.LazyFunction(lambda: settings.NUANXIN_PRIVACY_NOTICE_VERSION)
    consented_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def consent_record(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            ConsentRecord.objects.get_or_create(user=obj.user, version=obj.consent_version)


class WorkerFactory(DjangoModelFactory):
    """A worker who has logged in once: profile and consent to the current notice.
    `WorkerFactory(profile=None)` gives a bare user row without a profile."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    class Params:
        home_region_code = None
        occupation = Occupation.FOOD_DELIVERY
        platforms = factory.LazyFunction(lambda: ["美团"])

    kind = UserKind.WORKER
    phone = factory.Sequence(lambda n: f"177{n:08d}")
    username = factory.LazyAttribute(lambda o: o.phone)
    display_name = ""
    password = "!"  # unusable: workers log in by SMS code
    profile = factory.RelatedFactory(
        WorkerProfileFactory,
        factory_related_name="user",
        home_region_code=factory.SelfAttribute("..home_region_code"),
        occupation=factory.SelfAttribute("..occupation"),
        platforms=factory.SelfAttribute("..platforms"),
    )


class StaffFactory(DjangoModelFactory):
    """A staff member with a password (`STAFF_PASSWORD`), a role and an org unit."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    class Params:
        role = StaffRole.COMMUNITY_STAFF
        region_code = factory.LazyAttribute(lambda o: DEFAULT_REGION_FOR_ROLE[StaffRole(o.role)])
        totp = False

    kind = UserKind.STAFF
    username = factory.Sequence(lambda n: f"staff{n}")
    display_name = factory.LazyAttribute(lambda o: f"{o.username} 同志")
    password = factory.django.Password(STAFF_PASSWORD)
    totp_secret = factory.Maybe("totp", factory.LazyFunction(pyotp.random_base32), "")
    totp_confirmed_at = factory.Maybe("totp", factory.LazyFunction(timezone.now), None)
    staff_profile = factory.RelatedFactory(
        "tests.accounts.factories.StaffProfileFactory",
        factory_related_name="user",
        role=factory.SelfAttribute("..role"),
        org_unit__region_code=factory.SelfAttribute("...region_code"),
    )


class StaffProfileFactory(DjangoModelFactory):
    class Meta:
        model = StaffProfile

    user = factory.SubFactory(StaffFactory, staff_profile=None)
    org_unit = factory.SubFactory(OrgUnitFactory)
    role = StaffRole.COMMUNITY_STAFF

"""People: workers, staff of every role, superusers, partners and their users.

    WorkerFactory()                                   # consented, lives in 义驾山社区
    WorkerFactory(home_region_code=CHUITAI)           # lives in 吹台社区
    WorkerFactory(home_region_code=None)              # has not chosen a home community
    WorkerFactory(profile=None)                       # a bare worker row: never logged in
    StaffFactory()                                    # community staff at 义驾山社区
    StaffFactory(role="district_admin")               # at 义乌市 (330782) by default
    StaffFactory(region_code=CHUITAI)                 # community staff at 吹台社区
    StaffFactory(role="city_admin", totp=True)        # second factor already enrolled
    SuperuserFactory()
    PartnerFactory(kind="operator", region_code=YIJIASHAN)
    PartnerUserFactory(partner=tower)                 # a login of that partner
    login(client, user)                               # as if they had logged in (and passed TOTP)
    browser_login(page, user, live_server.url)        # the same, for a Playwright page

Staff and superusers log in with STAFF_PASSWORD, partners' users with PARTNER_PASSWORD;
workers log in by SMS code. Staff belong to the organisation unit of their region
(`places.org_unit_for`), the one that owns the needs raised there.
"""

from __future__ import annotations

import factory
import pyotp
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from factory.django import DjangoModelFactory

from nuanxin.accounts.models import (
    ConsentRecord,
    Occupation,
    Partner,
    PartnerKind,
    PartnerMember,
    StaffProfile,
    StaffRole,
    User,
    UserKind,
    WorkerProfile,
)
from tests.factories.places import (
    CHOUCHENG,
    JINHUA,
    YIJIASHAN,
    YIWU,
    ZHEJIANG,
    org_unit_for,
    region,
)

STAFF_PASSWORD = "warm-station-2026"
PARTNER_PASSWORD = "partner-long-password"

# Where each role sits when no region is given: the 义乌 chain from the article.
DEFAULT_REGION_FOR_ROLE = {
    StaffRole.STATION_KEEPER: YIJIASHAN,
    StaffRole.COMMUNITY_STAFF: YIJIASHAN,
    StaffRole.STREET_ADMIN: CHOUCHENG,
    StaffRole.DISTRICT_ADMIN: YIWU,
    StaffRole.CITY_ADMIN: JINHUA,
    StaffRole.PROVINCE_ADMIN: ZHEJIANG,
}


class WorkerProfileFactory(DjangoModelFactory):
    class Meta:
        model = WorkerProfile
        skip_postgeneration_save = True

    class Params:
        home_region_code = YIJIASHAN

    user = factory.SubFactory("tests.factories.people.WorkerFactory", profile=None)
    occupation = Occupation.FOOD_DELIVERY
    platforms = factory.LazyFunction(lambda: ["美团"])
    home_region = factory.LazyAttribute(
        lambda o: region(o.home_region_code) if o.home_region_code else None)
    consent_version = factory.LazyFunction(lambda: settings.NUANXIN_PRIVACY_NOTICE_VERSION)
    consented_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def consent_record(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            ConsentRecord.objects.get_or_create(user=obj.user, version=obj.consent_version)


class WorkerFactory(DjangoModelFactory):
    """A worker who has logged in once: profile (home community 义驾山社区 unless
    `home_region_code` says another, or None) and consent to the current notice.
    `WorkerFactory(profile=None)` gives a bare user row without a profile."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    class Params:
        home_region_code = YIJIASHAN
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
    """A staff member with a password (STAFF_PASSWORD), a role and the org unit of their
    region (by default the article's place for the role's level)."""

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
        "tests.factories.people.StaffProfileFactory",
        factory_related_name="user",
        role=factory.SelfAttribute("..role"),
        region_code=factory.SelfAttribute("..region_code"),
    )


class StaffProfileFactory(DjangoModelFactory):
    class Meta:
        model = StaffProfile

    class Params:
        region_code = YIJIASHAN

    user = factory.SubFactory(StaffFactory, staff_profile=None)
    org_unit = factory.LazyAttribute(lambda o: org_unit_for(o.region_code))
    role = StaffRole.COMMUNITY_STAFF


class SuperuserFactory(DjangoModelFactory):
    """`nuanxin createsuperuser`'s user: staff kind, no role, every region; an administrator,
    so the console asks for the second factor (`totp=True` enrols it)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    class Params:
        totp = False

    kind = UserKind.STAFF
    username = factory.Sequence(lambda n: f"root{n}")
    password = factory.django.Password(STAFF_PASSWORD)
    is_staff = True
    is_superuser = True
    totp_secret = factory.Maybe("totp", factory.LazyFunction(pyotp.random_base32), "")
    totp_confirmed_at = factory.Maybe("totp", factory.LazyFunction(timezone.now), None)


class PartnerFactory(DjangoModelFactory):
    """An alliance partner (a company by default) serving 义乌市."""

    class Meta:
        model = Partner

    class Params:
        region_code = YIWU

    name = factory.Sequence(lambda n: f"测试单位{n}")
    kind = PartnerKind.COMPANY
    region = factory.LazyAttribute(lambda o: region(o.region_code))


class PartnerMemberFactory(DjangoModelFactory):
    class Meta:
        model = PartnerMember

    user = None
    partner = factory.SubFactory(PartnerFactory)


class PartnerUserFactory(DjangoModelFactory):
    """A login of a partner (PARTNER_PASSWORD); `partner=None` gives a partner-kind user
    that belongs to no partner."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    class Params:
        partner = factory.SubFactory(PartnerFactory)

    kind = UserKind.PARTNER
    username = factory.Sequence(lambda n: f"partner{n}")
    password = factory.django.Password(PARTNER_PASSWORD)
    display_name = factory.LazyAttribute(lambda o: o.partner.name[:40] if o.partner else "")
    membership = factory.Maybe(
        "partner",
        factory.RelatedFactory(PartnerMemberFactory, factory_related_name="user",
                               partner=factory.SelfAttribute("..partner")),
        factory.PostGeneration(lambda obj, create, extracted, **kwargs: None),
    )


def login(client, user):
    """Log `user` in on a test client, as if they had come through their sign-in page:
    administrators also carry the session flag that says the second factor was passed.
    An anonymous user leaves the client as it is."""
    from nuanxin.accounts.decorators import SESSION_TOTP_OK

    if isinstance(user, AnonymousUser):
        return client
    client.force_login(user)
    session = client.session
    session[SESSION_TOTP_OK] = True
    session.save()
    return client


def browser_login(page, user, base_url: str):
    """`login` for a Playwright page: its browser gets the session cookie a real sign-in
    would have set, for the live server at `base_url`."""
    from django.test import Client

    client = login(Client(), user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])
    return page

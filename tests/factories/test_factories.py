"""The shared factories build what the services would: every app's tests rely on them."""

from urllib.parse import urlparse

import pyotp
import pytest

from nuanxin.accounts.models import ROLE_LEVELS, StaffRole, WorkerProfile
from nuanxin.accounts.phones import normalize_phone
from nuanxin.accounts.selectors import users_visible_to
from nuanxin.accounts.services import staff_requires_totp
from nuanxin.common.scoping import access_of
from nuanxin.geo.models import RegionLevel
from nuanxin.geo.named_places import NAMED_STATIONS, NAMED_STREETS
from nuanxin.geo.selectors import locate_district_code
from tests.factories import places
from tests.factories.needs import NeedFactory, raise_need
from tests.factories.people import (
    PARTNER_PASSWORD,
    STAFF_PASSWORD,
    PartnerUserFactory,
    StaffFactory,
    SuperuserFactory,
    WorkerFactory,
    login,
)
from tests.factories.places import CHOUCHENG, CHUITAI, YIJIASHAN, OrgUnitFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", list(StaffRole))
def test_each_role_sits_at_a_level_it_may_sit_at(role):
    staff = StaffFactory(role=role)
    unit = staff.staff_profile.org_unit
    assert unit.region.level in ROLE_LEVELS[role]
    assert access_of(staff).prefix == unit.region.prefix
    assert staff_requires_totp(staff) == staff.staff_profile.is_admin


def test_a_worker_has_a_consented_profile_and_can_be_made_without_one():
    worker = WorkerFactory(home_region_code=CHUITAI)
    assert worker.worker_profile.home_region.name == "吹台社区"
    assert worker.consents.get().version == worker.worker_profile.consent_version
    bare = WorkerFactory(profile=None)
    assert not WorkerProfile.objects.filter(user=bare).exists()


def test_staff_of_a_region_see_the_workers_living_in_it():
    inside = WorkerFactory(home_region_code=YIJIASHAN)
    WorkerFactory(home_region_code=CHUITAI)
    street = StaffFactory(role="street_admin", region_code=CHOUCHENG)
    assert list(users_visible_to(street)) == [inside]


def test_one_org_unit_per_region_and_name():
    assert OrgUnitFactory(region_code=CHUITAI) == OrgUnitFactory(region_code=CHUITAI)
    staff = StaffFactory(region_code=CHUITAI)
    assert staff.staff_profile.org_unit.name == "吹台社区党群服务中心"


# --- people log in where they should -------------------------------------------------------

STAFF_LOGIN = "/accounts/staff/login/"
TOTP = "/accounts/staff/totp/"


@pytest.mark.parametrize("role", [*StaffRole, "superuser"])
def test_each_role_signs_in_to_the_console_with_the_factory_password(client, role):
    """Community staff and keepers go straight in; administrators (enrolled by `totp=True`)
    type their code first."""
    user = SuperuserFactory(totp=True) if role == "superuser" else StaffFactory(role=role,
                                                                              totp=True)
    response = client.post(STAFF_LOGIN, {"username": user.username, "password": STAFF_PASSWORD})
    assert response.status_code == 302
    if staff_requires_totp(user):
        assert urlparse(response["Location"]).path == TOTP
        assert client.get("/console/").status_code == 302  # the password alone is not enough
        code = pyotp.TOTP(user.totp_secret).now()
        response = client.post(TOTP, {"code": code, "next": "/console/"})
    assert response["Location"] == "/console/"
    assert client.get("/console/").status_code == 200


@pytest.mark.parametrize("make", [StaffFactory, SuperuserFactory,
                                  lambda: StaffFactory(role="province_admin")],
                         ids=["community_staff", "superuser", "province_admin"])
def test_login_lets_staff_straight_into_the_console(client, make):
    assert login(client, make()).get("/console/").status_code == 200


def test_workers_and_partners_are_kept_out_of_the_console(client):
    for user in (WorkerFactory(), PartnerUserFactory()):
        assert login(client, user).get("/console/").status_code == 302


def test_a_partners_user_signs_in_on_the_partner_page(client):
    member = PartnerUserFactory()
    assert member.partner_member.partner.region_id == places.YIWU
    response = client.post("/partner/login/", {"username": member.username,
                                               "password": PARTNER_PASSWORD, "next": "/partner/"})
    assert response["Location"] == "/partner/"
    assert client.get("/partner/").status_code == 200
    assert not hasattr(PartnerUserFactory(partner=None), "partner_member")


def test_workers_phones_are_valid_and_never_repeat():
    phones = [WorkerFactory().phone for _ in range(30)]
    phones += [WorkerFactory(profile=None).phone for _ in range(5)]
    assert len(set(phones)) == len(phones)
    assert all(normalize_phone(phone) == phone for phone in phones)


def test_a_worker_lives_in_yijiashan_unless_told_otherwise():
    assert WorkerFactory().worker_profile.home_region_id == YIJIASHAN
    assert WorkerFactory(home_region_code=None).worker_profile.home_region is None


# --- places are the demo's ------------------------------------------------------------------

NAMED_COMMUNITIES = {
    f"{district}{street_suffix}{suffix}": name
    for district, _street, street_suffix, communities in NAMED_STREETS
    for name, suffix, _lat, _lng in communities
}


def test_every_named_community_is_a_place_of_the_demo():
    codes = {value for name, value in vars(places).items()
             if name.isupper() and isinstance(value, str) and len(value) == 12}
    codes.discard(places.NEXT_DOOR)  # test-only
    assert codes == set(NAMED_COMMUNITIES)
    for code, name in NAMED_COMMUNITIES.items():
        community = places.region(code)
        assert (community.name, community.level) == (name, RegionLevel.COMMUNITY)


def test_the_yiwu_chain_runs_up_to_the_province():
    chain = [places.YIJIASHAN, places.CHOUCHENG, places.YIWU, places.JINHUA, places.ZHEJIANG]
    node = places.region(chain[0])
    for code in chain:
        assert node.code == code
        node = node.parent
    assert node is None
    assert [places.region(c).name for c in (places.LOUQIAO, places.OUHAI)] == ["娄桥街道",
                                                                                 "瓯海区"]


def test_points_are_the_named_centres_and_lie_in_their_districts():
    centres = {(code, (lat, lng)) for code, _name, _type, lat, lng in NAMED_STATIONS}
    assert (YIJIASHAN, places.YIJIASHAN_POINT) in centres
    assert (CHUITAI, places.CHUITAI_POINT) in centres
    assert locate_district_code(*places.YIJIASHAN_POINT) == places.YIWU
    assert locate_district_code(*places.NEXT_DOOR_POINT) == places.YIWU
    assert locate_district_code(*places.CHUITAI_POINT) == places.OUHAI


def test_test_only_places_sit_under_the_named_ones():
    assert places.region(places.next_door()).parent_id == CHOUCHENG
    assert places.other_street().parent_id == places.YIWU
    assert places.next_door() == places.NEXT_DOOR  # made once


def test_units_stand_for_every_level_above_a_place():
    places.ensure_units(CHUITAI)
    node = places.region(CHUITAI)
    while node is not None:
        assert places.org_unit_for(node.code).region == node
        node = node.parent


def test_a_station_is_in_its_region_and_open_by_default():
    station = places.StationFactory(region_code=CHUITAI)
    assert locate_district_code(station.lat, station.lng) == places.OUHAI
    assert station.spans.count() == 7


def test_needs_are_owned_by_the_unit_of_their_place():
    places.ensure_units(YIJIASHAN)
    rider = WorkerFactory()
    raised = raise_need(rider, accept=True)
    assert (raised.region_id, raised.status) == (YIJIASHAN, "accepted")
    assert raised.owner == places.org_unit_for(YIJIASHAN)
    assert NeedFactory(region_code=CHUITAI).owner == places.org_unit_for(CHUITAI)

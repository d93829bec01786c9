"""The shared factories build what the services would: other apps' tests rely on them."""

import pytest

from nuanxin.accounts.models import ROLE_LEVELS, StaffRole, WorkerProfile
from nuanxin.accounts.selectors import scope_prefix, users_visible_to
from nuanxin.accounts.services import staff_requires_totp
from tests.factories.people import StaffFactory, WorkerFactory
from tests.factories.places import OrgUnitFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", list(StaffRole))
def test_each_role_sits_at_a_level_it_may_sit_at(role):
    staff = StaffFactory(role=role)
    unit = staff.staff_profile.org_unit
    assert unit.region.level in ROLE_LEVELS[role]
    assert scope_prefix(staff) == unit.region.prefix
    assert staff_requires_totp(staff) == staff.staff_profile.is_admin


def test_a_worker_has_a_consented_profile_and_can_be_made_without_one():
    worker = WorkerFactory(home_region_code="330304001001")
    assert worker.worker_profile.home_region.name == "吹台社区"
    assert worker.consents.get().version == worker.worker_profile.consent_version
    bare = WorkerFactory(profile=None)
    assert not WorkerProfile.objects.filter(user=bare).exists()


def test_staff_of_a_region_see_the_workers_living_in_it():
    inside = WorkerFactory(home_region_code="330782001001")
    WorkerFactory(home_region_code="330304001001")
    street = StaffFactory(role="street_admin", region_code="330782001")
    assert list(users_visible_to(street)) == [inside]


def test_one_org_unit_per_region_and_name():
    assert OrgUnitFactory(region_code="330304001001") == OrgUnitFactory(region_code="330304001001")
    staff = StaffFactory(region_code="330304001001")
    assert staff.staff_profile.org_unit.name == "吹台社区党群服务中心"

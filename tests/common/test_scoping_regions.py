"""common.scoping on regions themselves (what a staff member may pick) and on the workers
living in a staff member's region."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from nuanxin.accounts.selectors import users_visible_to
from nuanxin.common.errors import NotFound
from nuanxin.geo.models import Region
from tests.factories.people import StaffFactory, SuperuserFactory, WorkerFactory
from tests.factories.places import CHOUCHENG, CHUITAI, YIJIASHAN

pytestmark = pytest.mark.django_db

def test_a_street_admin_picks_only_regions_of_the_street():
    street = StaffFactory(role="street_admin", region_code=CHOUCHENG)
    codes = list(Region.objects.visible_to(street).values_list("code", flat=True))
    assert codes and CHOUCHENG in codes and YIJIASHAN in codes
    assert all(code.startswith(CHOUCHENG) for code in codes)
    assert CHUITAI not in codes and "330782" not in codes  # neither aside nor above


def test_superusers_pick_every_region_and_others_none():
    root = SuperuserFactory()
    assert Region.objects.visible_to(root).count() == Region.objects.count()
    for nobody in (WorkerFactory(), AnonymousUser()):
        assert not Region.objects.visible_to(nobody).exists()


def test_a_region_out_of_scope_is_not_found():
    staff = StaffFactory(role="community_staff", region_code=YIJIASHAN)
    assert Region.objects.get_visible_or_404(staff, code=YIJIASHAN).code == YIJIASHAN
    with pytest.raises(NotFound) as missing:
        Region.objects.get_visible_or_404(staff, code=CHUITAI)
    assert missing.value.code == "region_not_found"


def test_in_region_is_a_subtree_for_figures_and_public_pages():
    assert set(Region.objects.in_region(YIJIASHAN).values_list("code", flat=True)) == {
        YIJIASHAN}
    assert Region.objects.in_region("").count() == Region.objects.count()


def test_staff_see_the_workers_who_live_in_their_region():
    here = WorkerFactory(home_region_code=YIJIASHAN)
    WorkerFactory(home_region_code=CHUITAI)
    WorkerFactory(home_region_code=None)  # no home community: nobody's
    assert list(users_visible_to(StaffFactory(role="district_admin"))) == [here]
    assert not users_visible_to(here).exists()

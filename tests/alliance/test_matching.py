"""Matching a need to resources: what is suggested, in which order, and the reasons shown."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nuanxin.accounts.models import PartnerKind
from nuanxin.alliance.selectors import closeness, distance_text, resources_for_need
from nuanxin.alliance.services import projects as project_services
from nuanxin.alliance.services.projects import ProjectInput
from nuanxin.common.errors import NotFound
from tests.alliance.helpers import resource, today
from tests.factories.needs import raise_need
from tests.factories.people import PartnerFactory, StaffFactory
from tests.factories.places import (
    CHOUCHENG,
    CHUITAI,
    JINHUA,
    NEXT_DOOR,
    OUHAI,
    YIJIASHAN,
    YIJIASHAN_POINT,
    YIWU,
    ZHEJIANG,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("need", "res", "rank", "reason"), [
    (YIJIASHAN, YIJIASHAN, 0, "同社区"),
    (YIJIASHAN, NEXT_DOOR, 1, "同街道"),
    (YIJIASHAN, CHOUCHENG, 1, "同街道"),
    (YIJIASHAN, "330782002001", 2, "同区县"),
    (YIJIASHAN, YIWU, 2, "同区县"),
    (YIJIASHAN, "330783001001", 3, "同城市"),
    (YIJIASHAN, JINHUA, 3, "同城市"),
    (YIJIASHAN, CHUITAI, 4, "辖区内其他地方"),
    (YIJIASHAN, ZHEJIANG, 4, "辖区内其他地方"),
])
def test_closeness_by_region_codes(need, res, rank, reason):
    assert closeness(need, res) == (rank, reason)


@pytest.mark.parametrize(("metres", "text"), [(0, "0 米"), (850, "850 米"), (999, "999 米"),
                                              (1000, "1.0 公里"), (1234, "1.2 公里")])
def test_distance_text(metres, text):
    assert distance_text(metres) == text


@pytest.fixture
def district_admin():
    return StaffFactory(role="district_admin", region_code=YIWU)


def test_order_same_community_then_street_then_district_then_nearest(district_admin):
    tower = PartnerFactory(name="铁塔", kind=PartnerKind.OPERATOR, region_code=YIWU)
    lat, lng = YIJIASHAN_POINT
    need = raise_need(point=YIJIASHAN_POINT, accept=True)
    far_here = resource(tower, title="本社区·远", lat=lat + 0.010, lng=lng)       # ~1.1 km
    near_here = resource(tower, title="本社区·近", lat=lat + 0.002, lng=lng)      # ~220 m
    no_point = resource(tower, title="本社区·无坐标")
    street = resource(tower, title="同街道", region_code=NEXT_DOOR, lat=lat, lng=lng)
    district = resource(tower, title="全市", region_code=YIWU)
    results = resources_for_need(need.pk, district_admin)
    assert [s.resource.title for s in results] == [
        near_here.title, far_here.title, no_point.title, street.title, district.title]
    first = results[0]
    assert first.reasons == ["同类别", "同社区", "222 米", "剩余 12 个电池槽"]
    assert results[1].reasons[2] == "1.1 公里"
    assert results[2].reasons == ["同类别", "同社区", "剩余 12 个电池槽"]
    assert results[3].reasons[:2] == ["同类别", "同街道"]
    assert results[4].reasons[:2] == ["同类别", "同区县"]


def test_without_the_needs_own_point_distance_comes_from_the_community_centre(district_admin):
    tower = PartnerFactory(region_code=YIWU)
    need = raise_need(accept=True)
    resource(tower, lat=YIJIASHAN_POINT[0], lng=YIJIASHAN_POINT[1])
    [suggestion] = resources_for_need(need.pk, district_admin)
    assert suggestion.approximate_distance
    assert suggestion.reasons[2].startswith("约 ")


def test_only_same_category_available_today_with_capacity_left(district_admin):
    tower = PartnerFactory(region_code=YIWU)
    need = raise_need(accept=True)
    good = resource(tower, title="可用")
    resource(tower, title="别的类别", category="skills")
    resource(tower, title="还没开始", available_from=today() + timedelta(days=1))
    resource(tower, title="已经结束", available_from=today() - timedelta(days=30),
             available_until=today() - timedelta(days=1))
    resource(tower, title="停止提供", is_active=False)
    full = resource(tower, title="已满", capacity=2)
    project = project_services.project_create(
        actor=district_admin, data=ProjectInput(title="占满", owner_region_code=YIWU))
    project_services.project_allocate(actor=district_admin, project_id=project.pk,
                                      resource_id=full.pk, quantity=2)
    assert [s.resource.pk for s in resources_for_need(need.pk, district_admin)] == [good.pk]


def test_remaining_capacity_breaks_ties_and_is_shown(district_admin):
    tower = PartnerFactory(region_code=YIWU)
    need = raise_need(accept=True)
    small = resource(tower, title="小", capacity=3)
    big = resource(tower, title="大", capacity=30)
    results = resources_for_need(need.pk, district_admin)
    assert [s.resource.pk for s in results] == [big.pk, small.pk]
    assert results[1].reasons[-1] == "剩余 3 个电池槽"


def test_suggestions_stay_in_the_viewers_scope():
    secretary = StaffFactory(region_code=YIJIASHAN)
    need = raise_need(accept=True)
    yiwu = PartnerFactory(region_code=YIWU)
    mine = resource(yiwu)
    wenzhou = PartnerFactory(region_code=OUHAI)
    resource(wenzhou, region_code=CHUITAI)
    assert [s.resource.pk for s in resources_for_need(need.pk, secretary)] == [mine.pk]
    chuitai_staff = StaffFactory(region_code=CHUITAI)
    with pytest.raises(NotFound):
        resources_for_need(need.pk, chuitai_staff)


def test_a_routed_partner_is_marked(district_admin):
    from nuanxin.alliance.services.routings import routing_create

    tower = PartnerFactory(region_code=YIWU)
    need = raise_need(accept=True)
    resource(tower)
    routing_create(actor=district_admin, need_id=need.pk, partner_id=tower.pk)
    [suggestion] = resources_for_need(need.pk, district_admin)
    assert suggestion.reasons[-1] == "已派单：待答复"

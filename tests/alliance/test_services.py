"""The alliance's services: partners, agreements, resources, routings and projects — each
use case's happy path, every allowed and refused transition, and what closing does."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nuanxin.accounts.models import Notification, PartnerKind
from nuanxin.alliance.models import (
    Milestone,
    NeedRouting,
    Project,
    ProjectEvent,
    ProjectNeed,
    ProjectResource,
    RoutingEvent,
    RoutingStatus,
)
from nuanxin.alliance.selectors import allocated_quantity, resource_for
from nuanxin.alliance.services import partners as partner_services
from nuanxin.alliance.services import projects as project_services
from nuanxin.alliance.services import resources as resource_services
from nuanxin.alliance.services import routings as routing_services
from nuanxin.alliance.services.partners import PartnerInput
from nuanxin.alliance.services.projects import ProjectInput
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.needs import services as need_services
from nuanxin.needs.models import Need, NeedStatus
from tests.alliance.helpers import resource, resource_input, today
from tests.factories.needs import raise_need
from tests.factories.people import (
    PartnerFactory,
    PartnerUserFactory,
    StaffFactory,
    SuperuserFactory,
    WorkerFactory,
)
from tests.factories.places import CHOUCHENG, CHUITAI, NEXT_DOOR, OUHAI, YIJIASHAN, YIWU

pytestmark = pytest.mark.django_db


@pytest.fixture
def secretary():
    """义驾山社区's community staff (the article's 何书记)."""
    return StaffFactory(region_code=YIJIASHAN)


@pytest.fixture
def tower():
    return PartnerFactory(name="中国铁塔义乌分公司（测试）", kind=PartnerKind.OPERATOR,
                          region_code=YIWU)


@pytest.fixture
def cabinets(tower):
    return resource(tower, title="换电柜电池槽", capacity=12)


def new_project(actor, *needs, title="义驾山换电柜布设") -> Project:
    return project_services.project_create(
        actor=actor, data=ProjectInput(title=title), need_ids=tuple(n.pk for n in needs))


# --- partners and agreements -----------------------------------------------------------------

def test_community_staff_add_a_partner_in_their_community(secretary):
    made = partner_services.partner_create(
        actor=secretary, data=PartnerInput(name="义驾山便民超市", kind="merchant",
                                           region_code=YIJIASHAN))
    assert made.region_id == YIJIASHAN


@pytest.mark.parametrize(("data", "code"), [
    (PartnerInput(name="", kind="company", region_code=YIJIASHAN), "name_required"),
    (PartnerInput(name="x" * 81, kind="company", region_code=YIJIASHAN), "name_too_long"),
    (PartnerInput(name="某公司", kind="bank", region_code=YIJIASHAN), "invalid_kind"),
    (PartnerInput(name="某公司", kind="company", region_code=CHUITAI), "region_not_found"),
    (PartnerInput(name="某公司", kind="company", region_code=YIWU), "region_not_found"),
])
def test_partner_input_is_checked(secretary, data, code):
    with pytest.raises(ServiceError) as exc:
        partner_services.partner_create(actor=secretary, data=data)
    assert exc.value.code == code


def test_partner_names_are_unique(secretary):
    data = PartnerInput(name="义驾山便民超市", kind="merchant", region_code=YIJIASHAN)
    partner_services.partner_create(actor=secretary, data=data)
    with pytest.raises(ServiceError) as exc:
        partner_services.partner_create(actor=secretary, data=data)
    assert (exc.value.code, exc.value.status) == ("partner_name_taken", 409)


@pytest.mark.parametrize("role", ["station_keeper"])
def test_station_keepers_do_not_change_the_alliance(role):
    keeper = StaffFactory(role=role, region_code=YIJIASHAN)
    with pytest.raises(PermissionDenied):
        partner_services.partner_create(actor=keeper, data=PartnerInput(
            name="某超市", kind="merchant", region_code=YIJIASHAN))


def test_a_district_wide_partner_is_seen_but_not_edited_by_community_staff(secretary, tower):
    with pytest.raises(PermissionDenied) as exc:
        partner_services.partner_update(actor=secretary, partner_id=tower.pk, data=PartnerInput(
            name="改名", kind="operator", region_code=YIJIASHAN))
    assert exc.value.code == "partner_not_editable"
    district = StaffFactory(role="district_admin", region_code=YIWU)
    changed = partner_services.partner_update(actor=district, partner_id=tower.pk,
                                              data=PartnerInput(name="铁塔义乌", kind="operator",
                                                                region_code=YIWU))
    assert changed.name == "铁塔义乌"


def test_agreements_make_co_building_units_and_expire(secretary, tower):
    start = today() - timedelta(days=400)
    old = partner_services.agreement_create(actor=secretary, partner_id=tower.pk,
                                            title="2025 共建", starts_on=start,
                                            ends_on=start + timedelta(days=365))
    new = partner_services.agreement_create(actor=secretary, partner_id=tower.pk,
                                            title="2026 共建", starts_on=today(),
                                            ends_on=today() + timedelta(days=365))
    assert not old.is_active_on(today()) and new.is_active_on(today())
    assert new.org_unit == secretary.staff_profile.org_unit
    ended = partner_services.agreement_end(actor=secretary, agreement_id=new.pk,
                                           ends_on=today())
    assert ended.ends_on == today()


def test_agreement_dates_are_checked(secretary, tower):
    with pytest.raises(ServiceError) as exc:
        partner_services.agreement_create(actor=secretary, partner_id=tower.pk, title="共建",
                                          starts_on=today(), ends_on=today() - timedelta(1))
    assert exc.value.code == "ends_before_start"


def test_an_agreement_lets_a_community_manage_a_partner_registered_elsewhere():
    """The cosmetics company is registered for 瓯海区; 吹台's staff manage its offers once it
    signed a co-building agreement with 吹台's centre."""
    chuitai = StaffFactory(region_code=CHUITAI)
    company = PartnerFactory(name="美妆企业（测试）", region_code=OUHAI)
    with pytest.raises(PermissionDenied):
        resource(company, actor=chuitai, region_code=CHUITAI, category="skills",
                 title="美妆课")
    partner_services.agreement_create(actor=chuitai, partner_id=company.pk, title="共建",
                                      starts_on=today(), ends_on=today() + timedelta(365))
    offer = resource(company, actor=chuitai, region_code=CHUITAI, category="skills",
                     title="美妆课", capacity=20, capacity_unit="个名额")
    assert offer.partner == company


def test_partner_logins_are_made_for_managed_partners(secretary):
    shop = PartnerFactory(name="义驾山便利店", region_code=YIJIASHAN)
    user = partner_services.partner_member_create(actor=secretary, partner_id=shop.pk,
                                                  username="shop1", password="Long-enough-1")
    assert user.partner_member.partner == shop and user.check_password("Long-enough-1")
    with pytest.raises(ServiceError) as exc:
        partner_services.partner_member_create(actor=secretary, partner_id=shop.pk,
                                               username="shop2", password="123")
    assert exc.value.code == "weak_password"


def test_partner_sign_in_and_lock():
    shop = PartnerFactory(region_code=YIJIASHAN)
    user = PartnerUserFactory(partner=shop, username="shop.login")
    assert partner_services.partner_authenticate(username="shop.login",
                                                 password="partner-long-password",
                                                 ip=None) == user
    with pytest.raises(PermissionDenied) as exc:
        other = StaffFactory()
        other.set_password("staff-password-long")
        other.save()
        partner_services.partner_authenticate(username=other.username,
                                              password="staff-password-long", ip=None)
    assert exc.value.code == "partners_only"
    for _ in range(10):
        with pytest.raises(ServiceError):
            partner_services.partner_authenticate(username="shop.login", password="no", ip=None)
    with pytest.raises(ServiceError) as exc:
        partner_services.partner_authenticate(username="shop.login",
                                              password="partner-long-password", ip=None)
    assert exc.value.code == "login_locked"


# --- resources -------------------------------------------------------------------------------

def test_partner_users_manage_their_own_offers_only(tower):
    engineer = PartnerUserFactory(partner=tower)
    offer = resource(tower, actor=engineer, title="换电柜")
    assert offer.created_by == engineer
    other = PartnerFactory(name="别的单位", region_code=YIWU)
    with pytest.raises(NotFound):
        resource(other, actor=engineer)
    foreign = resource(other)
    with pytest.raises(NotFound):
        resource_services.resource_update(actor=engineer, resource_id=foreign.pk,
                                          data=resource_input())


@pytest.mark.parametrize(("overrides", "code"), [
    ({"title": ""}, "title_required"),
    ({"category": "pets"}, "invalid_category"),
    ({"capacity": 0}, "invalid_capacity"),
    ({"capacity": True}, "invalid_capacity"),
    ({"capacity_unit": ""}, "unit_required"),
    ({"available_until": "past"}, "available_range"),
    ({"lat": 29.3}, "invalid_coordinates"),
    ({"lat": 99.0, "lng": 120.0}, "invalid_coordinates"),
    ({"region_code": CHUITAI}, "region_outside_partner"),
    ({"region_code": "999999"}, "region_outside_partner"),
])
def test_resource_input_is_checked(tower, overrides, code):
    if overrides.get("available_until") == "past":
        overrides["available_until"] = today() - timedelta(days=60)
    with pytest.raises(ServiceError) as exc:
        resource(tower, **overrides)
    assert exc.value.code == code


def test_capacity_cannot_drop_below_what_open_projects_hold(secretary, cabinets):
    project = new_project(secretary)
    project_services.project_allocate(actor=secretary, project_id=project.pk,
                                      resource_id=cabinets.pk, quantity=8)
    with pytest.raises(ServiceError) as exc:
        resource_services.resource_update(actor=SuperuserFactory(), resource_id=cabinets.pk,
                                          data=resource_input(capacity=7))
    assert exc.value.code == "capacity_below_allocated"
    assert exc.value.details == {"allocated": 8}
    resource_services.resource_update(actor=SuperuserFactory(), resource_id=cabinets.pk,
                                      data=resource_input(capacity=8))


# --- capacity --------------------------------------------------------------------------------

def test_allocation_takes_capacity_and_refuses_overbooking(secretary, cabinets):
    first, second = new_project(secretary, title="一期"), new_project(secretary, title="二期")
    project_services.project_allocate(actor=secretary, project_id=first.pk,
                                      resource_id=cabinets.pk, quantity=8)
    assert resource_for(secretary, cabinets.pk).remaining == 4
    with pytest.raises(ServiceError) as exc:
        project_services.project_allocate(actor=secretary, project_id=second.pk,
                                          resource_id=cabinets.pk, quantity=5)
    assert (exc.value.code, exc.value.details, exc.value.status) == (
        "capacity_exceeded", {"remaining": 4}, 409)
    project_services.project_allocate(actor=secretary, project_id=second.pk,
                                      resource_id=cabinets.pk, quantity=4)
    assert allocated_quantity(cabinets.pk) == 12


def test_changing_an_allocation_counts_only_other_projects(secretary, cabinets):
    project = new_project(secretary)
    project_services.project_allocate(actor=secretary, project_id=project.pk,
                                      resource_id=cabinets.pk, quantity=10)
    project_services.project_allocate(actor=secretary, project_id=project.pk,
                                      resource_id=cabinets.pk, quantity=12)
    assert ProjectResource.objects.get(project=project).quantity == 12


def test_closed_and_cancelled_projects_release_capacity(secretary, cabinets):
    done = new_project(secretary, title="完成")
    project_services.project_allocate(actor=secretary, project_id=done.pk,
                                      resource_id=cabinets.pk, quantity=6)
    dropped = new_project(secretary, title="取消")
    project_services.project_allocate(actor=secretary, project_id=dropped.pk,
                                      resource_id=cabinets.pk, quantity=6)
    assert resource_for(secretary, cabinets.pk).remaining == 0
    project_services.project_start(actor=secretary, project_id=done.pk)
    project_services.project_close(actor=secretary, project_id=done.pk, results="建成")
    project_services.project_cancel(actor=secretary, project_id=dropped.pk, reason="场地未落实")
    assert resource_for(secretary, cabinets.pk).remaining == 12


@pytest.mark.parametrize("quantity", [0, -1, True])
def test_allocation_quantity_must_be_positive(secretary, cabinets, quantity):
    project = new_project(secretary)
    with pytest.raises(ServiceError) as exc:
        project_services.project_allocate(actor=secretary, project_id=project.pk,
                                          resource_id=cabinets.pk, quantity=quantity)
    assert exc.value.code == "invalid_quantity"


def test_resources_not_offered_today_cannot_be_taken(secretary, tower):
    later = resource(tower, available_from=today() + timedelta(days=10))
    stopped = resource(tower, is_active=False)
    project = new_project(secretary)
    for offer in (later, stopped):
        with pytest.raises(NotFound):
            project_services.project_allocate(actor=secretary, project_id=project.pk,
                                              resource_id=offer.pk, quantity=1)


def test_releasing_a_resource(secretary, cabinets):
    project = new_project(secretary)
    project_services.project_allocate(actor=secretary, project_id=project.pk,
                                      resource_id=cabinets.pk, quantity=3)
    project_services.project_release(actor=secretary, project_id=project.pk,
                                      resource_id=cabinets.pk)
    assert allocated_quantity(cabinets.pk) == 0
    with pytest.raises(NotFound):
        project_services.project_release(actor=secretary, project_id=project.pk,
                                         resource_id=cabinets.pk)


# --- project transitions ---------------------------------------------------------------------

ACTIONS = {
    "start": lambda actor, pid: project_services.project_start(actor=actor, project_id=pid),
    "close": lambda actor, pid: project_services.project_close(actor=actor, project_id=pid,
                                                               results="8 组换电柜投用"),
    "cancel": lambda actor, pid: project_services.project_cancel(actor=actor, project_id=pid,
                                                                 reason="合作方撤出"),
}
EVENT_CODES = {"start": "alliance.project.started", "close": "alliance.project.closed",
               "cancel": "alliance.project.cancelled"}
ALLOWED = {
    ("planned", "start"): "active", ("planned", "cancel"): "cancelled",
    ("active", "close"): "closed", ("active", "cancel"): "cancelled",
}


def project_in(actor, status: str) -> Project:
    project = new_project(actor)
    if status in ("active", "closed"):
        project_services.project_start(actor=actor, project_id=project.pk)
    if status == "closed":
        project_services.project_close(actor=actor, project_id=project.pk, results="完成")
    if status == "cancelled":
        project_services.project_cancel(actor=actor, project_id=project.pk, reason="不做了")
    project.refresh_from_db()
    assert project.status == status
    return project


@pytest.mark.parametrize("status", ["planned", "active", "closed", "cancelled"])
@pytest.mark.parametrize("action", ["start", "close", "cancel"])
def test_project_transition_table(secretary, status, action):
    project = project_in(secretary, status)
    expected = ALLOWED.get((status, action))
    events = ProjectEvent.objects.filter(project=project).count()
    if expected is None:
        with pytest.raises(ServiceError) as exc:
            ACTIONS[action](secretary, project.pk)
        assert (exc.value.code, exc.value.status) == ("invalid_transition", 409)
        project.refresh_from_db()
        assert project.status == status
        assert ProjectEvent.objects.filter(project=project).count() == events
    else:
        ACTIONS[action](secretary, project.pk)
        project.refresh_from_db()
        assert project.status == expected
        event = ProjectEvent.objects.filter(project=project, to_state=expected).get()
        assert (event.from_state, event.actor, event.action) == (
            status, secretary, EVENT_CODES[action])


def test_closing_needs_results_and_cancelling_needs_a_reason(secretary):
    project = project_in(secretary, "active")
    with pytest.raises(ServiceError) as exc:
        project_services.project_close(actor=secretary, project_id=project.pk, results=" ")
    assert exc.value.code == "results_required"
    with pytest.raises(ServiceError) as exc:
        project_services.project_cancel(actor=secretary, project_id=project.pk, reason="")
    assert exc.value.code == "reason_required"
    with pytest.raises(ServiceError) as exc:
        project_services.project_cancel(actor=secretary, project_id=project.pk, reason="x",
                                        needs="delete")
    assert exc.value.code == "invalid_needs_choice"


@pytest.mark.parametrize(("progress", "cost", "code"), [
    (-1, 0, "invalid_progress"), (101, 0, "invalid_progress"), ("50", 0, "invalid_progress"),
    (50, -1, "invalid_cost"), (50, 10**13, "invalid_cost"), (50, 1.5, "invalid_cost"),
])
def test_progress_and_cost_are_validated(secretary, progress, cost, code):
    project = new_project(secretary)
    with pytest.raises(ServiceError) as exc:
        project_services.project_update(actor=secretary, project_id=project.pk, title="x",
                                        description="", progress=progress, cost_fen=cost)
    assert exc.value.code == code


def test_progress_cost_and_milestones(secretary):
    project = new_project(secretary)
    project_services.project_update(actor=secretary, project_id=project.pk, title="换电柜",
                                    description="", progress=40, cost_fen=1_234_56)
    milestone = project_services.milestone_add(actor=secretary, project_id=project.pk,
                                               title="协调场地", due_on=today())
    project_services.milestone_set_done(actor=secretary, project_id=project.pk,
                                        milestone_id=milestone.pk)
    project.refresh_from_db()
    assert (project.progress, project.cost_fen) == (40, 123456)
    assert Milestone.objects.get(pk=milestone.pk).done_at is not None


def test_a_closed_project_cannot_be_changed(secretary, cabinets):
    project = project_in(secretary, "closed")
    calls = [
        lambda: project_services.project_update(actor=secretary, project_id=project.pk,
                                                title="x", description="", progress=1,
                                                cost_fen=0),
        lambda: project_services.project_allocate(actor=secretary, project_id=project.pk,
                                                  resource_id=cabinets.pk, quantity=1),
        lambda: project_services.milestone_add(actor=secretary, project_id=project.pk,
                                               title="x"),
        lambda: project_services.project_add_need(actor=secretary, project_id=project.pk,
                                                  need_id=raise_need(accept=True).pk),
    ]
    for call in calls:
        with pytest.raises(ServiceError) as exc:
            call()
        assert exc.value.code == "project_not_open"


# --- projects and needs ----------------------------------------------------------------------

def test_adding_a_need_puts_it_in_the_project(secretary):
    need = raise_need(accept=True)
    project = new_project(secretary, need)
    need.refresh_from_db()
    assert (need.status, need.project_ref) == (NeedStatus.IN_PROJECT,
                                               f"alliance.project:{project.pk}")
    assert ProjectNeed.objects.filter(project=project, need_id=need.pk).exists()


def test_needs_outside_the_owner_or_scope_are_refused(secretary):
    chuitai_need = raise_need(region_code=CHUITAI, accept=True)
    with pytest.raises(NotFound):
        new_project(secretary, chuitai_need)
    street = StaffFactory(role="street_admin", region_code=CHOUCHENG)
    other = raise_need(region_code=NEXT_DOOR, accept=True)
    project = project_services.project_create(
        actor=street, data=ProjectInput(title="义驾山", owner_region_code=YIJIASHAN))
    with pytest.raises(ServiceError) as exc:
        project_services.project_add_need(actor=street, project_id=project.pk,
                                          need_id=other.pk)
    assert exc.value.code == "need_outside_owner"


def test_a_need_joins_a_project_once(secretary):
    need = raise_need(accept=True)
    project = new_project(secretary, need)
    with pytest.raises(ServiceError) as exc:
        project_services.project_add_need(actor=secretary, project_id=project.pk,
                                          need_id=need.pk)
    assert exc.value.code == "need_already_in_project"


def test_removing_a_need_returns_it_to_the_list(secretary):
    need = raise_need(accept=True)
    project = new_project(secretary, need)
    project_services.project_remove_need(actor=secretary, project_id=project.pk,
                                         need_id=need.pk)
    need.refresh_from_db()
    assert (need.status, need.project_ref) == (NeedStatus.ACCEPTED, "")
    assert not ProjectNeed.objects.filter(project=project).exists()


def test_closing_resolves_the_needs_and_tells_the_raisers(secretary, cabinets):
    rider, other_rider = WorkerFactory(), WorkerFactory()
    first = raise_need(by=rider, title="充电慢、充电难，还不安全", accept=True)
    second = raise_need(by=other_rider, title="电池衰减快", accept=True)
    need_services.need_raise_again(worker=rider, need_id=second.pk)
    project = new_project(secretary, first, second)
    project_services.project_allocate(actor=secretary, project_id=project.pk,
                                      resource_id=cabinets.pk, quantity=12)
    project_services.project_start(actor=secretary, project_id=project.pk)
    Notification.objects.all().delete()
    project_services.project_close(actor=secretary, project_id=project.pk,
                                   results="8 组换电柜投用，覆盖骑手 800 余人",
                                   outcome="换电柜已在党群服务中心和取餐点投用")
    for need in (first, second):
        need.refresh_from_db()
        assert need.status == NeedStatus.RESOLVED
        assert need.outcome == "换电柜已在党群服务中心和取餐点投用"
        assert need.events.filter(action="needs.need.resolved", actor=None).exists()
    assert Notification.objects.filter(user=rider).count() == 2
    assert Notification.objects.filter(user=other_rider).count() == 1
    project.refresh_from_db()
    assert (project.progress, project.closed_at is not None) == (100, True)
    assert project.events.filter(action="alliance.project.needs_resolved",
                                 reason__contains="2").exists()


def test_closing_leaves_needs_that_left_the_project_alone(secretary):
    kept, detached = raise_need(accept=True), raise_need(accept=True)
    project = new_project(secretary, kept, detached)
    need_services.need_detach_from_project(actor=secretary, need_id=detached.pk)
    project_services.project_start(actor=secretary, project_id=project.pk)
    project_services.project_close(actor=secretary, project_id=project.pk, results="完成")
    assert Need.objects.get(pk=kept.pk).status == NeedStatus.RESOLVED
    assert Need.objects.get(pk=detached.pk).status == NeedStatus.ACCEPTED
    assert project.events.filter(reason__contains=f"#{detached.pk}").exists()


def test_cancelling_detaches_needs_by_default(secretary):
    need = raise_need(accept=True)
    project = new_project(secretary, need)
    project_services.project_cancel(actor=secretary, project_id=project.pk, reason="场地不行")
    need.refresh_from_db()
    assert (need.status, need.project_ref) == (NeedStatus.ACCEPTED, "")


def test_cancelling_can_mark_needs_not_feasible(secretary):
    rider = WorkerFactory()
    need = raise_need(by=rider, accept=True)
    project = new_project(secretary, need)
    Notification.objects.all().delete()
    project_services.project_cancel(actor=secretary, project_id=project.pk,
                                    reason="小区不允许设柜", needs="not_feasible")
    need.refresh_from_db()
    assert (need.status, need.outcome) == (NeedStatus.NOT_FEASIBLE, "小区不允许设柜")
    assert Notification.objects.filter(user=rider).exists()


def test_projects_of_another_region_are_not_found(secretary):
    chuitai = StaffFactory(region_code=CHUITAI)
    project = new_project(chuitai, title="吹台夜校")
    with pytest.raises(NotFound):
        project_services.project_start(actor=secretary, project_id=project.pk)


def test_owner_unit_must_be_in_scope(secretary):
    with pytest.raises(NotFound) as exc:
        project_services.project_create(actor=secretary, data=ProjectInput(
            title="x", owner_region_code=CHUITAI))
    assert exc.value.code == "owner_not_found"


# --- routings --------------------------------------------------------------------------------

def route(actor, need, to, **kwargs) -> NeedRouting:
    return routing_services.routing_create(actor=actor, need_id=need.pk, partner_id=to.pk,
                                           **kwargs)


def test_routing_copies_only_what_staff_send(secretary, tower, django_capture_on_commit_callbacks):
    engineer = PartnerUserFactory(partner=tower)
    need = raise_need(description="我叫张三，电话 13900001111，小区门口没有充电桩", accept=True)
    with django_capture_on_commit_callbacks(execute=True):
        routing = route(secretary, need, tower, description="小区门口没有充电桩",
                        message="请评估布设换电柜")
    assert (routing.title, routing.description, routing.region_id) == (
        need.title, "小区门口没有充电桩", YIJIASHAN)
    assert Notification.objects.filter(user=engineer, link=f"/partner/routings/{routing.pk}/")
    assert RoutingEvent.objects.filter(routing=routing, action="alliance.routing.routed").exists()


def test_a_need_is_routed_once_per_partner_and_only_while_open(secretary, tower):
    need = raise_need(accept=True)
    route(secretary, need, tower)
    with pytest.raises(ServiceError) as exc:
        route(secretary, need, tower)
    assert (exc.value.code, exc.value.status) == ("already_routed", 409)
    closed = raise_need(accept=True)
    need_services.need_resolve(actor=secretary, need_id=closed.pk, outcome="已解决")
    with pytest.raises(ServiceError) as exc:
        route(secretary, closed, tower)
    assert exc.value.code == "need_closed"


def test_routing_a_resource_of_another_partner_is_refused(secretary, tower):
    other_offer = resource(PartnerFactory(region_code=YIWU))
    with pytest.raises(NotFound):
        route(secretary, raise_need(accept=True), tower, resource_id=other_offer.pk)


ANSWER_TEXT = {"accept": "", "propose": "先在取餐点放 2 组试点", "decline": "该区域电力容量不足"}
ANSWER_TO = {"accept": RoutingStatus.ACCEPTED, "propose": RoutingStatus.PROPOSED,
             "decline": RoutingStatus.DECLINED}


@pytest.mark.parametrize("first", ["accept", "propose", "decline"])
@pytest.mark.parametrize("second", ["accept", "propose", "decline"])
def test_routing_transition_table(secretary, tower, first, second,
                                  django_capture_on_commit_callbacks):
    engineer = PartnerUserFactory(partner=tower)
    routing = route(secretary, raise_need(accept=True), tower)
    with django_capture_on_commit_callbacks(execute=True):
        routing_services.routing_answer(actor=engineer, routing_id=routing.pk, action=first,
                                        text=ANSWER_TEXT[first])
    routing.refresh_from_db()
    assert routing.status == ANSWER_TO[first]
    assert RoutingEvent.objects.filter(routing=routing, from_state="routed",
                                       to_state=ANSWER_TO[first], actor=engineer).exists()
    assert Notification.objects.filter(user=secretary).exists()
    with pytest.raises(ServiceError) as exc:
        routing_services.routing_answer(actor=engineer, routing_id=routing.pk, action=second,
                                        text=ANSWER_TEXT[second] or "x")
    assert (exc.value.code, exc.value.status) == ("invalid_transition", 409)


@pytest.mark.parametrize(("action", "code"), [("propose", "proposal_required"),
                                              ("decline", "reason_required"),
                                              ("ignore", "invalid_action")])
def test_answers_that_need_words(secretary, tower, action, code):
    engineer = PartnerUserFactory(partner=tower)
    routing = route(secretary, raise_need(accept=True), tower)
    with pytest.raises(ServiceError) as exc:
        routing_services.routing_answer(actor=engineer, routing_id=routing.pk, action=action,
                                        text="  ")
    assert exc.value.code == code
    assert NeedRouting.objects.get(pk=routing.pk).status == RoutingStatus.ROUTED


def test_only_the_partner_routed_to_answers(secretary, tower):
    routing = route(secretary, raise_need(accept=True), tower)
    stranger = PartnerUserFactory(partner=PartnerFactory(region_code=YIWU))
    with pytest.raises(NotFound):
        routing_services.routing_answer(actor=stranger, routing_id=routing.pk, action="accept")
    with pytest.raises(PermissionDenied):
        routing_services.routing_answer(actor=secretary, routing_id=routing.pk,
                                        action="accept")

"""Home visits (两问大家访): record, follow up, to a need in one step, plan, coverage."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.needs.selectors import need_for
from nuanxin.surveys import selectors, services
from nuanxin.surveys.models import HomeVisit, VisitPlan
from nuanxin.surveys.selectors.visits import quarter_of
from nuanxin.surveys.services import FollowUpInput, VisitInput
from tests.factories.people import StaffFactory, WorkerFactory
from tests.factories.places import CHOUCHENG, CHUITAI, YIJIASHAN, next_door

pytestmark = pytest.mark.django_db


def visit(staff, **overrides) -> HomeVisit:
    values = {"visited_at": timezone.now() - timedelta(hours=2),
              "difficulty_text": "充电慢、充电难，还不安全。",
              "difficulty_categories": ["charging"],
              "community_text": "希望社区附近能有换电的地方。",
              "community_categories": ["charging"]}
    values.update(overrides)
    return services.visit_record(actor=staff, data=VisitInput(**values))


def test_record_a_visit_to_a_worker_by_phone(staff):
    worker = WorkerFactory()
    v = visit(staff, worker_phone=f"+86 {worker.phone}", place="义驾山社区党群服务中心",
              follow_ups=[FollowUpInput("联系铁塔公司", timezone.localdate() + timedelta(days=7))])
    assert v.worker == worker and v.region_id == YIJIASHAN
    assert v.visitor == staff and v.org_unit == staff.staff_profile.org_unit
    answers = {a.question: a for a in v.answers.all()}
    assert answers["difficulty"].text == "充电慢、充电难，还不安全。"
    assert answers["community"].categories == ["charging"]
    assert v.follow_ups.get().note == "联系铁塔公司"


def test_record_a_household_without_an_account(staff):
    v = visit(staff, household_name="王阿姨家", household_address="5 幢 2 单元",
              region_code=YIJIASHAN)
    assert v.worker is None and v.household_name == "王阿姨家"


@pytest.mark.parametrize(("overrides", "code"), [
    ({}, "visit_target_required"),
    ({"worker_phone": "13900000000", "household_name": "王家", "region_code": YIJIASHAN},
     "visit_target_ambiguous"),
    ({"worker_phone": "12345"}, "invalid_phone"),
    ({"worker_phone": "13912345678"}, "worker_not_found"),
    ({"household_name": "王家", "region_code": CHUITAI}, "region_not_found"),
    ({"household_name": "王家", "region_code": YIJIASHAN,
      "visited_at": timezone.now() + timedelta(days=1)}, "visited_at_in_future"),
    ({"household_name": "王家", "region_code": YIJIASHAN,
      "difficulty_categories": ["money"]}, "invalid_category"),
    ({"household_name": "王家", "region_code": YIJIASHAN,
      "follow_ups": [FollowUpInput(" ", timezone.localdate())]}, "follow_up_note_required"),
])
def test_visit_refusals(staff, overrides, code):
    with pytest.raises(ServiceError) as error:
        visit(staff, **overrides)
    assert error.value.code == code
    assert not HomeVisit.objects.exists()


def test_workers_outside_the_region_are_not_found(staff):
    elsewhere = WorkerFactory(home_region_code=CHUITAI)
    with pytest.raises(NotFound):
        visit(staff, worker_phone=elsewhere.phone)
    keeper = StaffFactory(role="station_keeper", region_code=YIJIASHAN)
    with pytest.raises(PermissionDenied):
        visit(keeper, household_name="王家", region_code=YIJIASHAN)


def test_an_answer_becomes_a_need_in_one_step(staff):
    worker = WorkerFactory()
    v = visit(staff, worker_phone=worker.phone)
    answer = v.answers.get(question="difficulty")
    need_id = services.visit_answer_to_need(actor=staff, answer_id=answer.pk)
    need = need_for(staff, need_id)
    assert (need.source, need.category, need.region_id) == ("visit", "charging", YIJIASHAN)
    assert need.title == "充电慢、充电难，还不安全"
    assert "家里有什么困难事？" in need.description
    assert list(need.raisers.values_list("worker_id", flat=True)) == [worker.pk]
    answer.refresh_from_db()
    assert answer.need_id == need_id
    with pytest.raises(ServiceError) as error:
        services.visit_answer_to_need(actor=staff, answer_id=answer.pk)
    assert error.value.code == "already_raised"
    # the other answer, with a title and category chosen by staff; a household: no raiser
    household = visit(staff, household_name="王家", region_code=YIJIASHAN)
    other = household.answers.get(question="community")
    need_id = services.visit_answer_to_need(actor=staff, answer_id=other.pk,
                                            title="布设换电柜", category="charging", urgency=2)
    need = need_for(staff, need_id)
    assert (need.title, need.urgency, need.raised_count) == ("布设换电柜", 2, 0)


def test_empty_answers_and_other_regions_cannot_become_needs(staff):
    v = visit(staff, household_name="王家", region_code=YIJIASHAN, community_text="")
    with pytest.raises(ServiceError) as error:
        services.visit_answer_to_need(actor=staff,
                                      answer_id=v.answers.get(question="community").pk)
    assert error.value.code == "answer_empty"
    with pytest.raises(NotFound):
        services.visit_answer_to_need(actor=StaffFactory(region_code=CHUITAI),
                                      answer_id=v.answers.get(question="difficulty").pk)


def test_follow_ups(staff):
    v = visit(staff, household_name="王家", region_code=YIJIASHAN)
    due = timezone.localdate() - timedelta(days=1)
    item = services.follow_up_add(actor=staff, visit_id=v.pk, note="回访", due_on=due)
    assert list(selectors.follow_ups_open(staff)) == [item]
    services.follow_up_set_done(actor=staff, follow_up_id=item.pk)
    item.refresh_from_db()
    assert item.done and item.done_at is not None
    assert list(selectors.follow_ups_open(staff)) == []
    services.follow_up_set_done(actor=staff, follow_up_id=item.pk, done=False)
    item.refresh_from_db()
    assert not item.done and item.done_at is None
    with pytest.raises(NotFound):
        services.follow_up_set_done(actor=StaffFactory(region_code=CHUITAI),
                                    follow_up_id=item.pk)


def test_plan_and_done(staff):
    today = timezone.localdate()
    worker, other = WorkerFactory(), WorkerFactory()
    plan = services.plan_add(actor=staff, worker_phone=worker.phone, planned_on=today)
    services.plan_add(actor=staff, worker_id=other.pk, planned_on=today + timedelta(days=1))
    with pytest.raises(ServiceError) as error:
        services.plan_add(actor=staff, worker_id=worker.pk, planned_on=today)
    assert error.value.code == "already_planned"
    with pytest.raises(ServiceError) as error:
        services.plan_add(actor=staff, worker_id=worker.pk,
                          planned_on=today - timedelta(days=1))
    assert error.value.code == "planned_on_past"
    with pytest.raises(NotFound):
        services.plan_add(actor=staff, worker_id=WorkerFactory(home_region_code=CHUITAI).pk,
                          planned_on=today)

    _monday, _sunday, plans = selectors.plans_in_week(staff, today)
    assert {p.worker_id for p in plans} >= {worker.pk}
    assert not any(p.visit_id for p in plans)
    v = visit(staff, worker_id=worker.pk, visited_at=timezone.now() - timedelta(minutes=5))
    plan.refresh_from_db()
    assert plan.visit == v  # recording the visit marks the plan done
    with pytest.raises(ServiceError) as error:
        services.plan_remove(actor=staff, plan_id=plan.pk)
    assert error.value.code == "plan_done"
    open_plan = VisitPlan.objects.get(worker=other)
    services.plan_remove(actor=staff, plan_id=open_plan.pk)
    assert not VisitPlan.objects.filter(pk=open_plan.pk).exists()


def test_coverage_counts_distinct_residents_visited_this_quarter():
    street = StaffFactory(role="street_admin", region_code=CHOUCHENG)
    community = StaffFactory()
    here = [WorkerFactory() for _i in range(4)]
    there = [WorkerFactory(home_region_code=next_door()) for _i in range(2)]
    WorkerFactory(home_region_code=CHUITAI)  # lives elsewhere: in nobody's denominator here
    WorkerFactory(home_region_code=None)  # no home community: not counted
    now = timezone.now()
    start, _end = quarter_of(timezone.localdate())
    last_quarter = timezone.make_aware(datetime.combine(start - timedelta(days=3),
                                                        datetime.min.time()).replace(hour=12))
    visit(community, worker_id=here[0].pk, visited_at=now - timedelta(seconds=30))
    visit(community, worker_id=here[0].pk, visited_at=now - timedelta(seconds=20))  # twice
    visit(community, worker_id=here[1].pk, visited_at=last_quarter)  # not this quarter
    visit(street, worker_id=there[0].pk, visited_at=now - timedelta(seconds=10))
    visit(community, household_name="王家", region_code=YIJIASHAN)  # households don't count

    mine = selectors.coverage(community)
    assert (mine.residents, mine.visited, mine.percent) == (4, 1, 25.0)
    assert mine.start == start
    whole = selectors.coverage(street)
    assert (whole.residents, whole.visited, whole.percent) == (6, 2, 33.3)
    by_community = {row["code"]: (row["total"], row["visited"])
                    for row in selectors.coverage_by_community(street)}
    assert by_community == {YIJIASHAN: (4, 1), next_door(): (2, 1)}
    # the drill-down: who has not been visited yet
    assert {w.pk for w in selectors.not_visited(community)} == {w.pk for w in here[1:]}
    assert {w.pk for w in selectors.not_visited(street, community=next_door())} == {
        there[1].pk}


def test_quarters():
    assert quarter_of(date(2026, 2, 14)) == (date(2026, 1, 1), date(2026, 4, 1))
    assert quarter_of(date(2026, 12, 31)) == (date(2026, 10, 1), date(2027, 1, 1))
    assert quarter_of(date(2026, 7, 1)) == (date(2026, 7, 1), date(2026, 10, 1))

"""The needs workflow through its services: every allowed and refused transition, merging,
notifications, ratings, editing, raising and its refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from nuanxin.accounts.models import Notification
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.needs import services
from nuanxin.needs.models import (
    Need,
    NeedEvent,
    NeedFeedback,
    NeedFollower,
    NeedRaiser,
    NeedStatus,
)
from nuanxin.needs.services import TARGET_DAYS, TRANSITIONS
from tests.factories.needs import NeedFactory, raise_need
from tests.factories.people import PartnerUserFactory, StaffFactory, SuperuserFactory, WorkerFactory
from tests.factories.places import CHUITAI, YIJIASHAN, org_unit_for

pytestmark = pytest.mark.django_db


# --- the transition table -----------------------------------------------------------------

def _call(action: str, actor, need: Need):
    if action == "accept":
        return services.need_accept(actor=actor, need_id=need.pk)
    if action == "decline":
        return services.need_decline(actor=actor, need_id=need.pk, reason="不属于社区职责")
    if action == "attach_to_project":
        return services.need_attach_to_project(actor=actor, need_id=need.pk, project_ref="P-7")
    if action == "detach_from_project":
        return services.need_detach_from_project(actor=actor, need_id=need.pk)
    if action == "resolve":
        return services.need_resolve(actor=actor, need_id=need.pk, outcome="已装换电柜")
    if action == "mark_not_feasible":
        return services.need_mark_not_feasible(actor=actor, need_id=need.pk, reason="没有场地")
    if action == "merge":
        target = NeedFactory(category=need.category)
        return services.need_merge(actor=actor, target_id=target.pk, source_ids=[need.pk])
    if action == "reopen":
        return services.need_reopen(actor=actor, need_id=need.pk, reason="联盟新单位可提供场地")
    raise AssertionError(action)


def need_in(status: str, **kwargs) -> Need:
    if status == NeedStatus.MERGED:
        target = NeedFactory(**kwargs)
        return NeedFactory(status=status, merged_into=target, **kwargs)
    if status == NeedStatus.IN_PROJECT:
        return NeedFactory(status=status, project_ref="P-1", **kwargs)
    return NeedFactory(status=status, **kwargs)


def test_every_action_is_tested_by_the_grid():
    assert set(TRANSITIONS) == {"accept", "decline", "attach_to_project", "detach_from_project",
                                "resolve", "mark_not_feasible", "merge", "reopen"}


@pytest.mark.parametrize("action", sorted(TRANSITIONS))
@pytest.mark.parametrize("status", NeedStatus.values)
def test_transition_grid(status, action):
    """Every (status, action) pair: allowed ones move the need and write one history row
    with the dotted code; all others are refused with 409 and change nothing."""
    actor = StaffFactory()
    w = WorkerFactory()
    need = need_in(status, raisers=[w])
    t = TRANSITIONS[action]
    allowed_from, to_status, code = t.sources, t.target, t.code
    events_before = NeedEvent.objects.filter(need=need).count()
    if status in allowed_from:
        _call(action, actor, need)
        need.refresh_from_db()
        assert need.status == to_status
        event = NeedEvent.objects.filter(need=need).order_by("-id").first()
        assert (event.action, event.from_state, event.to_state) == (code, status, to_status)
        assert event.actor == actor and event.actor_unit == org_unit_for(YIJIASHAN)
    else:
        with pytest.raises(ServiceError) as refused:
            _call(action, actor, need)
        assert refused.value.code == "invalid_transition"
        assert refused.value.status == 409
        need.refresh_from_db()
        assert need.status == status
        assert NeedEvent.objects.filter(need=need).count() == events_before


def test_accepting_sets_the_target_date_by_category_and_resolving_the_time():
    need = NeedFactory(category="legal")
    services.need_accept(actor=StaffFactory(), need_id=need.pk)
    need.refresh_from_db()
    assert need.accepted_at is not None
    assert need.target_date == timezone.localdate(need.accepted_at) + timedelta(
        days=TARGET_DAYS["legal"])
    services.need_resolve(actor=StaffFactory(), need_id=need.pk, outcome="调解成功，工资已追回")
    need.refresh_from_db()
    assert need.resolved_at is not None and need.outcome == "调解成功，工资已追回"


def test_going_straight_into_a_project_counts_as_accepted():
    need = NeedFactory()
    services.need_attach_to_project(actor=None, need_id=need.pk, project_ref="P-12")
    need.refresh_from_db()
    assert need.status == "in_project" and need.accepted_at is not None
    assert need.target_date is not None and need.project_ref == "P-12"


def test_reopening_restarts_the_clock_and_clears_the_outcome():
    need = NeedFactory(status="not_feasible", outcome="没有场地",
                       created_at=timezone.now() - timedelta(days=100))
    services.need_reopen(actor=StaffFactory(), need_id=need.pk, reason="吹台联盟的企业提供了场地")
    need.refresh_from_db()
    assert need.status == "accepted" and need.outcome == ""
    assert need.target_date == timezone.localdate() + timedelta(days=TARGET_DAYS["charging"])


@pytest.mark.parametrize("call,code", [
    (lambda a, n: services.need_decline(actor=a, need_id=n, reason="  "), "reason_required"),
    (lambda a, n: services.need_resolve(actor=a, need_id=n, outcome=""), "outcome_required"),
    (lambda a, n: services.need_mark_not_feasible(actor=a, need_id=n, reason=""),
     "reason_required"),
    (lambda a, n: services.need_reopen(actor=a, need_id=n, reason=""), "reason_required"),
    (lambda a, n: services.need_decline(actor=a, need_id=n, reason="x" * 1001), "text_too_long"),
    (lambda a, n: services.need_attach_to_project(actor=a, need_id=n, project_ref="x" * 41),
     "invalid_project_ref"),
])
def test_reasons_and_outcomes_are_required(call, code):
    need = NeedFactory(status="accepted")
    with pytest.raises(ServiceError) as refused:
        call(StaffFactory(), need.pk)
    assert refused.value.code == code


def test_missing_need_is_not_found():
    with pytest.raises(NotFound):
        services.need_accept(actor=StaffFactory(), need_id=987654)


# --- raising ------------------------------------------------------------------------------

def test_worker_raises_a_need_follows_it_and_the_unit_is_told():
    keeper = StaffFactory()
    w = WorkerFactory()
    need = raise_need(w, lat=29.3155, lng=120.0782)
    assert need.status == "submitted" and need.raised_count == 1
    assert need.owner == org_unit_for(YIJIASHAN)
    assert need.target_date == timezone.localdate() + timedelta(days=services.RESPONSE_DAYS)
    assert NeedRaiser.objects.filter(need=need, worker=w).exists()
    assert NeedFollower.objects.filter(need=need, user=w).exists()
    note = Notification.objects.get(user=keeper)
    assert note.link == f"/console/needs/{need.pk}/" and need.title in note.title


def test_staff_record_a_need_for_a_worker_or_for_nobody():
    s = StaffFactory()
    w = WorkerFactory()
    for_worker = services.need_raise(actor=s, worker=w, data=services.NeedInput(
        title="想学电工证", category="skills", source="walk_in", region_code=YIJIASHAN))
    assert for_worker.raised_count == 1 and for_worker.source == "walk_in"
    assert NeedFollower.objects.filter(need=for_worker, user=w).exists()
    nobody = raise_need(s, title="路口夜间照明不足", category="traffic_parking")
    assert nobody.raised_count == 0 and not nobody.raisers.exists()


@pytest.mark.parametrize("field,value,code", [
    ("title", "", "title_required"),
    ("title", "   ", "title_required"),
    ("title", "长" * 81, "title_too_long"),
    ("description", "长" * 2001, "description_too_long"),
    ("category", "parking", "invalid_category"),
    ("source", "wechat", "invalid_source"),
    ("urgency", 4, "invalid_urgency"),
    ("urgency", True, "invalid_urgency"),
    ("region_code", "339999999999", "unknown_region"),
    ("lat", 95.0, "invalid_coordinates"),
])
def test_raising_refuses_bad_input(field, value, code):
    data = services.NeedInput(title="缺少充电桩", category="charging", source="online",
                              region_code=YIJIASHAN)
    setattr(data, field, value)
    if field == "lat":
        data.lng = 120.0
    with pytest.raises(ServiceError) as refused:
        services.need_raise(actor=WorkerFactory(), data=data)
    assert refused.value.code == code
    assert not Need.objects.exists()


def test_staff_cannot_record_outside_their_region_and_partners_not_at_all():
    with pytest.raises(NotFound):
        raise_need(StaffFactory(region_code=CHUITAI), region_code=YIJIASHAN)
    with pytest.raises(PermissionDenied):
        raise_need(PartnerUserFactory(partner=None))


def test_a_worker_raises_only_for_themselves():
    with pytest.raises(PermissionDenied):
        services.need_raise(actor=WorkerFactory(), worker=WorkerFactory(), data=services.NeedInput(
            title="x", category="charging", source="online", region_code=YIJIASHAN))


def test_me_too_counts_once_and_follows():
    need = raise_need(WorkerFactory())
    other = WorkerFactory()
    services.need_raise_again(worker=other, need_id=need.pk)
    services.need_raise_again(worker=other, need_id=need.pk)
    need.refresh_from_db()
    assert need.raised_count == 2
    assert NeedFollower.objects.filter(need=need, user=other).exists()
    assert NeedEvent.objects.filter(need=need, action="needs.need.raised_again").count() == 1


def test_me_too_on_a_merged_need_lands_on_the_merged_into_need_even_through_a_chain():
    a, b, c = NeedFactory(), NeedFactory(), NeedFactory()
    s = StaffFactory()
    services.need_merge(actor=s, target_id=b.pk, source_ids=[a.pk])
    services.need_merge(actor=s, target_id=c.pk, source_ids=[b.pk])
    landed = services.need_raise_again(worker=WorkerFactory(), need_id=a.pk)
    assert landed.pk == c.pk and landed.raised_count == 1


@pytest.mark.parametrize("status", ["declined", "resolved", "not_feasible"])
def test_me_too_on_a_closed_need_is_refused(status):
    need = need_in(status)
    with pytest.raises(ServiceError) as refused:
        services.need_raise_again(worker=WorkerFactory(), need_id=need.pk)
    assert refused.value.code == "need_closed"


def test_me_too_is_for_workers_and_private_needs_cannot_be_joined():
    need = NeedFactory()
    with pytest.raises(PermissionDenied):
        services.need_raise_again(worker=StaffFactory(), need_id=need.pk)
    wages = NeedFactory(category="legal", raisers=[WorkerFactory()])
    with pytest.raises(NotFound):
        services.need_raise_again(worker=WorkerFactory(), need_id=wages.pk)


# --- merging ------------------------------------------------------------------------------

def test_merging_carries_raisers_and_followers_over_without_doubling():
    w1, w2, w3, both = WorkerFactory(), WorkerFactory(), WorkerFactory(), WorkerFactory()
    target = NeedFactory(raisers=[w1, both])
    s1 = NeedFactory(raisers=[w2, both])
    s2 = NeedFactory(raisers=[w3])
    follower = WorkerFactory()
    services.need_follow(user=follower, need_id=s2.pk)
    merged = services.need_merge(actor=StaffFactory(), target_id=target.pk,
                                 source_ids=[s1.pk, s2.pk])
    assert merged.raised_count == 4
    assert set(NeedRaiser.objects.filter(need=target).values_list("worker_id", flat=True)) == {
        w1.pk, w2.pk, w3.pk, both.pk}
    assert set(NeedFollower.objects.filter(need=target).values_list("user_id", flat=True)) == {
        w1.pk, w2.pk, w3.pk, both.pk, follower.pk}
    for source in (s1, s2):
        source.refresh_from_db()
        assert source.status == "merged" and source.merged_into_id == target.pk
    assert NeedEvent.objects.filter(need=target, action="needs.need.absorbed").count() == 2
    # a worker who raised both is counted once, not twice
    assert NeedRaiser.objects.filter(worker=both, need=target).count() == 1


def test_merging_twice_does_not_double_count():
    w = WorkerFactory()
    target, source = NeedFactory(raisers=[WorkerFactory()]), NeedFactory(raisers=[w])
    services.need_merge(actor=StaffFactory(), target_id=target.pk, source_ids=[source.pk])
    with pytest.raises(ServiceError) as refused:
        services.need_merge(actor=StaffFactory(), target_id=target.pk, source_ids=[source.pk])
    assert refused.value.code == "invalid_transition"
    target.refresh_from_db()
    assert target.raised_count == 2


def test_merging_refuses_other_categories_and_changes_nothing():
    target = NeedFactory(raisers=[WorkerFactory()])
    same = NeedFactory(raisers=[WorkerFactory()])
    other = NeedFactory(category="childcare", raisers=[WorkerFactory()])
    with pytest.raises(ServiceError) as refused:
        services.need_merge(actor=StaffFactory(), target_id=target.pk,
                            source_ids=[same.pk, other.pk])
    assert refused.value.code == "category_mismatch"
    same.refresh_from_db()
    assert same.status == "submitted" and same.raisers.count() == 1


@pytest.mark.parametrize("status", ["declined", "resolved", "not_feasible", "merged"])
def test_merging_into_a_closed_need_is_refused(status):
    target = need_in(status)
    source = NeedFactory()
    with pytest.raises(ServiceError) as refused:
        services.need_merge(actor=StaffFactory(), target_id=target.pk, source_ids=[source.pk])
    assert refused.value.code == "invalid_transition"


def test_merging_needs_something_to_merge_and_everything_in_scope():
    target = NeedFactory()
    with pytest.raises(ServiceError) as refused:
        services.need_merge(actor=StaffFactory(), target_id=target.pk, source_ids=[target.pk])
    assert refused.value.code == "nothing_to_merge"
    far = NeedFactory(region_code=CHUITAI)
    with pytest.raises(NotFound):
        services.need_merge(actor=StaffFactory(), target_id=target.pk, source_ids=[far.pk])
    with pytest.raises(NotFound):
        services.need_merge(actor=StaffFactory(), target_id=target.pk, source_ids=[99999999])


def test_merging_into_a_need_in_a_project_is_allowed():
    target = need_in("in_project")
    source = NeedFactory(raisers=[WorkerFactory()])
    assert services.need_merge(actor=StaffFactory(), target_id=target.pk,
                               source_ids=[source.pk]).raised_count == 1


# --- notifications ------------------------------------------------------------------------

def _notes(user):
    return list(Notification.objects.filter(user=user).order_by("id"))


@pytest.mark.parametrize("steps,expected", [
    (["accept"], 1),
    (["decline"], 1),
    (["accept", "resolve"], 2),
    (["accept", "mark_not_feasible"], 2),
    (["accept", "attach_to_project", "detach_from_project", "resolve"], 3),
    (["decline", "reopen"], 2),
])
def test_every_raiser_and_follower_is_told_of_each_change(steps, expected):
    raisers = [WorkerFactory(), WorkerFactory(), WorkerFactory()]
    need = NeedFactory(raisers=raisers)
    follower = WorkerFactory()
    services.need_follow(user=follower, need_id=need.pk)
    actor = StaffFactory()
    for step in steps:
        _call(step, actor, need)
        need.refresh_from_db()
    for person in [*raisers, follower]:
        notes = _notes(person)
        assert len(notes) == expected
        assert all(n.link == f"/needs/{need.pk}/" for n in notes)
        assert all(need.title in n.title for n in notes)


def test_merged_raisers_are_told_with_a_link_to_where_their_need_went():
    w = WorkerFactory()
    target, source = NeedFactory(raisers=[WorkerFactory()]), NeedFactory(raisers=[w])
    services.need_merge(actor=StaffFactory(), target_id=target.pk, source_ids=[source.pk])
    (note,) = _notes(w)
    assert note.link == f"/needs/{target.pk}/" and source.title in note.title


def test_the_resolve_message_asks_for_a_rating_and_carries_the_outcome():
    w = WorkerFactory()
    need = NeedFactory(status="in_project", raisers=[w])
    services.need_resolve(actor=None, need_id=need.pk, outcome="换电柜已投用")
    (note,) = _notes(w)
    assert "打分" in note.title and note.body == "换电柜已投用"


# --- rating -------------------------------------------------------------------------------

def test_rating_only_by_raisers_only_when_resolved_and_only_once():
    w, stranger = WorkerFactory(), WorkerFactory()
    need = NeedFactory(status="accepted", raisers=[w])
    with pytest.raises(ServiceError) as early:
        services.need_rate(worker=w, need_id=need.pk, score=5)
    assert early.value.code == "not_resolved"
    services.need_resolve(actor=StaffFactory(), need_id=need.pk, outcome="已解决")
    with pytest.raises(NotFound):
        services.need_rate(worker=stranger, need_id=need.pk, score=5)
    with pytest.raises(NotFound):
        services.need_rate(worker=StaffFactory(), need_id=need.pk, score=5)
    feedback = services.need_rate(worker=w, need_id=need.pk, score=4, comment=" 挺好 ")
    assert (feedback.score, feedback.comment) == (4, "挺好")
    with pytest.raises(ServiceError) as again:
        services.need_rate(worker=w, need_id=need.pk, score=1)
    assert again.value.code == "already_rated"
    assert NeedFeedback.objects.count() == 1


@pytest.mark.parametrize("score", [0, 6, -1, True, "5", 3.5])
def test_rating_score_is_1_to_5(score):
    w = WorkerFactory()
    need = NeedFactory(status="resolved", raisers=[w])
    with pytest.raises(ServiceError) as refused:
        services.need_rate(worker=w, need_id=need.pk, score=score)
    assert refused.value.code == "invalid_score"


def test_a_merged_raiser_may_rate_the_need_their_duplicate_went_into():
    w = WorkerFactory()
    target, source = NeedFactory(status="accepted"), NeedFactory(raisers=[w])
    services.need_merge(actor=StaffFactory(), target_id=target.pk, source_ids=[source.pk])
    services.need_resolve(actor=StaffFactory(), need_id=target.pk, outcome="已解决")
    assert services.need_rate(worker=w, need_id=target.pk, score=5).score == 5


# --- editing ------------------------------------------------------------------------------

def test_staff_edit_with_a_history_row_and_a_new_target_date_for_a_new_category():
    need = NeedFactory(status="accepted")
    services.need_update(actor=StaffFactory(), need_id=need.pk, category="housing", urgency=3,
                         description="补充：共 12 人")
    need.refresh_from_db()
    assert (need.category, need.urgency, need.description) == ("housing", 3, "补充：共 12 人")
    assert need.target_date == timezone.localdate(need.accepted_at) + timedelta(days=60)
    event = NeedEvent.objects.get(need=need, action="needs.need.updated")
    assert event.data["changes"] == {"category": ["charging", "housing"], "urgency": [1, 3]}
    assert event.data["description_changed"] is True


def test_editing_without_changes_writes_nothing_and_closed_needs_are_not_edited():
    need = NeedFactory()
    services.need_update(actor=StaffFactory(), need_id=need.pk, title=need.title)
    assert not NeedEvent.objects.filter(need=need, action="needs.need.updated").exists()
    closed = NeedFactory(status="resolved")
    with pytest.raises(ServiceError) as refused:
        services.need_update(actor=StaffFactory(), need_id=closed.pk, urgency=3)
    assert refused.value.code == "need_closed"
    with pytest.raises(ServiceError) as bad:
        services.need_update(actor=StaffFactory(), need_id=need.pk, category="nope")
    assert bad.value.code == "invalid_category"


@pytest.mark.parametrize("role", ["station_keeper"])
def test_station_keepers_record_but_do_not_manage(role):
    keeper = StaffFactory(role=role)
    need = raise_need(keeper)
    with pytest.raises(PermissionDenied):
        services.need_accept(actor=keeper, need_id=need.pk)
    with pytest.raises(PermissionDenied):
        services.need_update(actor=keeper, need_id=need.pk, urgency=3)


def test_superusers_manage_everywhere():
    need = NeedFactory(region_code=CHUITAI)
    services.need_accept(actor=SuperuserFactory(), need_id=need.pk)
    need.refresh_from_db()
    assert need.status == "accepted"

"""Alarms, work orders and riders' plans keep a history (common.workflow), and refuse a move
their table does not allow with the one 409 invalid_transition, changing nothing."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from nuanxin.common.errors import ServiceError
from nuanxin.energy import protocol
from nuanxin.energy.models import (
    Alarm,
    AlarmEvent,
    AlarmKind,
    Battery,
    SubscriptionEvent,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderKind,
)
from nuanxin.energy.services import plans, safety, workorders
from tests.factories import energy as f
from tests.factories.people import WorkerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cab():
    return f.cabinet(full=2, charging=0)


@pytest.fixture
def member(cab):
    return f.operator_user(cab.operator)


def history(row) -> list[tuple]:
    return list(row.events.order_by("id").values_list("action", "from_state", "to_state",
                                                      "actor_id", "reason"))


def test_an_alarm_keeps_who_did_what_from_raised_to_resolved(cab, member):
    alarm = safety.alarm_raise(cabinet=cab, kind=AlarmKind.DOOR_JAM, at=timezone.now(), slot=1)
    safety.alarm_acknowledge(user=member, alarm_id=alarm.pk)
    safety.alarm_resolve(user=member, alarm_id=alarm.pk, note="门轴已更换")
    alarm.refresh_from_db()
    assert (alarm.state, alarm.acknowledged_by, alarm.resolved_by, alarm.resolution_note) == (
        "resolved", member, member, "门轴已更换")
    assert history(alarm) == [
        ("energy.alarm.raised", "", "open", None, ""),
        ("energy.alarm.acknowledged", "open", "acknowledged", member.pk, ""),
        ("energy.alarm.resolved", "acknowledged", "resolved", member.pk, "门轴已更换"),
    ]
    assert alarm.events.first().data["slot"] == 1


def test_a_second_acknowledgement_or_resolution_is_the_standard_refusal(cab, member):
    alarm = safety.alarm_raise(cabinet=cab, kind=AlarmKind.DOOR_JAM, at=timezone.now(), slot=1)
    safety.alarm_resolve(user=member, alarm_id=alarm.pk, note="处理好了")
    before = history(alarm)
    for act in (lambda: safety.alarm_acknowledge(user=member, alarm_id=alarm.pk),
                lambda: safety.alarm_resolve(user=member, alarm_id=alarm.pk, note="再来一次")):
        with translation.override("zh-hans"), pytest.raises(ServiceError) as refused:
            act()
        body = refused.value.as_dict()
        assert (refused.value.status, body["code"], body["state"], body["allowed"]) == (
            409, "invalid_transition", "resolved", [])
        assert body["message"] == "这条告警现在是“已解决”，不能这样操作。"
        assert body["message_en"] == 'This alarm is now "Resolved", so this cannot be done.'
    alarm.refresh_from_db()
    assert alarm.resolution_note == "处理好了" and history(alarm) == before


def test_an_alarm_the_cabinet_still_reports_is_refused_by_the_tables_guard(cab, member):
    message = protocol.AlarmEvent(id="h1", seq=1, ts=0, serial=cab.serial, alarm_id="SMK-1",
                                  kind="smoke", state="start", slot=2)
    alarm = safety.alarm_on_device(cabinet=cab, message=message, at=timezone.now())
    with pytest.raises(ServiceError) as refused:
        safety.alarm_resolve(user=member, alarm_id=alarm.pk, note="看过了")
    assert refused.value.code == "alarm_not_cleared"
    assert Alarm.objects.get(pk=alarm.pk).state == "open"
    end = protocol.AlarmEvent(id="h2", seq=2, ts=0, serial=cab.serial, alarm_id="SMK-1",
                              kind="smoke", state="end", slot=2)
    safety.alarm_on_device(cabinet=cab, message=end, at=timezone.now())
    safety.alarm_resolve(user=member, alarm_id=alarm.pk, note="烟雾已散")
    assert [a for a, *_ in history(alarm)] == [
        "energy.alarm.raised", "energy.alarm.cleared", "energy.alarm.resolved"]


def test_a_work_order_keeps_its_history_and_refuses_to_close_twice(cab, member):
    battery = Battery.objects.filter(slot__cabinet=cab).first()
    order = workorders.work_order_open(user=member, kind=WorkOrderKind.TO_MAINTENANCE,
                                       battery_id=battery.pk, note="外壳破损")
    workorders.work_order_complete(user=member, work_order_id=order.pk)
    with pytest.raises(ServiceError) as refused:
        workorders.work_order_cancel(user=member, work_order_id=order.pk)
    assert refused.value.details == {"state": "done", "action": "cancel", "allowed": []}
    order.refresh_from_db()
    assert (order.state, order.done_by) == ("done", member)
    assert history(order) == [
        ("energy.work_order.opened", "", "open", member.pk, "外壳破损"),
        ("energy.work_order.completed", "open", "done", member.pk, ""),
    ]


def test_an_inspection_opened_by_the_ladder_resolves_its_alarm_on_record(cab, member):
    alarm = safety.alarm_raise(cabinet=cab, kind=AlarmKind.FOREIGN_BATTERY, at=timezone.now(),
                               slot=5)
    order = WorkOrder.objects.get(alarm=alarm)
    assert history(order) == [("energy.work_order.opened", "", "open", None, "")]
    workorders.work_order_complete(user=member, work_order_id=order.pk)
    resolved = AlarmEvent.objects.get(alarm=alarm, action="energy.alarm.resolved")
    assert (resolved.actor, resolved.data) == (member, {"work_order": order.pk})
    assert WorkOrderEvent.objects.filter(work_order=order,
                                         action="energy.work_order.completed").count() == 1


def test_a_plan_keeps_its_history_from_start_to_cancel():
    rider = WorkerFactory()
    sub = plans.subscription_start(rider=rider, plan_id=f.plan(op=f.operator()).pk)
    plans.subscription_renew(rider=rider)
    plans.subscription_cancel(rider=rider)
    sub.refresh_from_db()
    assert sub.status == "cancelled"
    assert [row[:4] for row in history(sub)] == [
        ("energy.subscription.started", "", "active", rider.pk),
        ("energy.subscription.renewed", "active", "active", rider.pk),
        ("energy.subscription.cancelled", "active", "cancelled", rider.pk),
    ]
    renewed = SubscriptionEvent.objects.get(subscription=sub,
                                            action="energy.subscription.renewed")
    assert renewed.data["paid_until"] == sub.paid_until.isoformat()

"""Work orders move batteries out of service and back, each move on the custody ledger with
the order that caused it, and the ledger still verifies afterwards."""

from __future__ import annotations

import pytest
from django.utils import timezone

from nuanxin.common.errors import NotFound, ServiceError
from nuanxin.energy.models import (
    AlarmState,
    Battery,
    BatteryStatus,
    CustodyEntry,
    Slot,
    WorkOrderKind,
    WorkOrderState,
)
from nuanxin.energy.services import custody, safety, workorders
from tests.factories import energy as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def op():
    return f.operator()


@pytest.fixture
def member(op):
    return f.operator_user(op)


@pytest.fixture
def cab(op):
    return f.cabinet(op=op, full=4, charging=2)


def in_slot(cab, number) -> Battery:
    return Battery.objects.get(slot__cabinet=cab, slot__number=number)


def last_entry(battery) -> CustodyEntry:
    return CustodyEntry.objects.filter(battery=battery).order_by("id").last()


def test_to_maintenance_takes_a_battery_from_its_slot_to_the_depot(cab, member):
    battery = in_slot(cab, 5)  # charging
    order = workorders.work_order_open(user=member, kind=WorkOrderKind.TO_MAINTENANCE,
                                       battery_id=battery.pk, note="外壳磕碰")
    assert (order.state, order.cabinet_id, order.operator_id) == ("open", cab.pk,
                                                                  cab.operator_id)
    done = workorders.work_order_complete(user=member, work_order_id=order.pk)
    assert done.state == WorkOrderState.DONE and done.done_by == member and done.done_at
    battery.refresh_from_db()
    assert (battery.status, battery.slot_id, battery.holder_id) == ("maintenance", None, None)
    entry = last_entry(battery)
    assert (entry.action, entry.from_place, entry.to_place, entry.work_order_id,
            entry.actor_id) == ("energy.battery.to_maintenance", "slot", "depot", order.pk,
                                member.pk)
    assert not Slot.objects.get(cabinet=cab, number=5).charging
    assert custody.ledger_verify() == []


def test_return_to_service_puts_a_repaired_battery_in_stock(op, member):
    battery = f.battery(op=op, status=BatteryStatus.MAINTENANCE)
    order = workorders.work_order_open(user=member, kind=WorkOrderKind.RETURN_TO_SERVICE,
                                       battery_id=battery.pk)
    assert order.cabinet_id is None
    workorders.work_order_complete(user=member, work_order_id=order.pk)
    battery.refresh_from_db()
    assert battery.status == BatteryStatus.STOCK
    assert last_entry(battery).action == "energy.battery.returned_to_service"
    assert last_entry(battery).work_order_id == order.pk
    assert custody.ledger_verify() == []


@pytest.mark.parametrize("where", ["slot", "depot"])
def test_retire_from_a_slot_or_the_depot(cab, op, member, where):
    battery = (in_slot(cab, 1) if where == "slot"
               else f.battery(op=op, status=BatteryStatus.MAINTENANCE, soh=76))
    order = workorders.work_order_open(user=member, kind=WorkOrderKind.RETIRE,
                                       battery_id=battery.pk)
    workorders.work_order_complete(user=member, work_order_id=order.pk)
    battery.refresh_from_db()
    assert (battery.status, battery.slot_id) == (BatteryStatus.RETIRED, None)
    assert last_entry(battery).from_place == where
    assert custody.ledger_verify() == []
    # Retired is final: no further work order moves it.
    with pytest.raises(ServiceError) as refused:
        workorders.work_order_open(user=member, kind=WorkOrderKind.TO_MAINTENANCE,
                                   battery_id=battery.pk)
    assert refused.value.code == "battery_status"


def test_a_quarantined_battery_goes_to_maintenance_from_its_alarm_and_back(cab, member):
    hot = in_slot(cab, 2)
    alarm = safety.alarm_raise(cabinet=cab, kind="over_temperature", at=timezone.now(),
                               slot=2, value=68.0)
    order = workorders.work_order_open(user=member, kind=WorkOrderKind.TO_MAINTENANCE,
                                       alarm_id=alarm.pk)
    assert (order.battery_id, order.alarm_id) == (hot.pk, alarm.pk)
    workorders.work_order_complete(user=member, work_order_id=order.pk)
    hot.refresh_from_db()
    assert hot.status == BatteryStatus.MAINTENANCE
    back = workorders.work_order_open(user=member, kind=WorkOrderKind.RETURN_TO_SERVICE,
                                      battery_id=hot.pk)
    workorders.work_order_complete(user=member, work_order_id=back.pk)
    hot.refresh_from_db()
    assert hot.status == BatteryStatus.STOCK
    actions = list(CustodyEntry.objects.filter(battery=hot).values_list("action", flat=True))
    assert actions == ["energy.battery.commissioned", "energy.battery.quarantined",
                       "energy.battery.to_maintenance", "energy.battery.returned_to_service"]
    assert custody.ledger_verify() == []


def test_return_to_service_in_place_charges_a_quarantined_battery_again(cab, member):
    battery = in_slot(cab, 3)
    safety.alarm_raise(cabinet=cab, kind="over_temperature", at=timezone.now(), slot=3)
    order = workorders.work_order_open(user=member, kind=WorkOrderKind.RETURN_TO_SERVICE,
                                       battery_id=battery.pk)
    workorders.work_order_complete(user=member, work_order_id=order.pk)
    battery.refresh_from_db()
    assert (battery.status, battery.slot.number) == (BatteryStatus.CHARGING, 3)
    assert custody.ledger_verify() == []


def test_inspect_slot_resolves_its_alarm_and_unlocks(cab, member):
    alarm = safety.alarm_raise(cabinet=cab, kind="battery_unread", at=timezone.now(), slot=9)
    order = alarm.work_orders.get()
    slot = Slot.objects.get(cabinet=cab, number=9)
    assert slot.locked
    with pytest.raises(ServiceError) as early:
        safety.slot_unlock(user=member, slot_id=slot.pk)
    assert early.value.code == "alarm_unresolved"
    workorders.work_order_complete(user=member, work_order_id=order.pk)
    slot.refresh_from_db()
    alarm.refresh_from_db()
    assert not slot.locked
    assert alarm.state == AlarmState.RESOLVED and alarm.resolved_by == member
    assert str(order.pk) in alarm.resolution_note


def test_a_work_order_is_completed_once_and_not_duplicated(cab, member):
    battery = in_slot(cab, 1)
    order = workorders.work_order_open(user=member, kind=WorkOrderKind.TO_MAINTENANCE,
                                       battery_id=battery.pk)
    with pytest.raises(ServiceError) as duplicate:
        workorders.work_order_open(user=member, kind=WorkOrderKind.TO_MAINTENANCE,
                                   battery_id=battery.pk)
    assert duplicate.value.code == "work_order_exists"
    workorders.work_order_complete(user=member, work_order_id=order.pk)
    with pytest.raises(ServiceError) as again:
        workorders.work_order_complete(user=member, work_order_id=order.pk)
    assert (again.value.code, again.value.details["state"]) == ("invalid_transition", "done")
    assert CustodyEntry.objects.filter(work_order=order).count() == 1


def test_a_battery_with_a_rider_cannot_be_sent_to_maintenance(op, member):
    rider = f.subscribed_rider(op=op)
    with pytest.raises(ServiceError) as refused:
        workorders.work_order_open(user=member, kind=WorkOrderKind.TO_MAINTENANCE,
                                   battery_id=rider.held_battery.pk)
    assert refused.value.code == "battery_status"


def test_another_operators_battery_is_not_found(cab):
    stranger = f.operator_user(f.operator())
    with pytest.raises(NotFound):
        workorders.work_order_open(user=stranger, kind=WorkOrderKind.RETIRE,
                                   battery_id=in_slot(cab, 1).pk)
    member = f.operator_user(cab.operator)
    order = workorders.work_order_open(user=member, kind=WorkOrderKind.RETIRE,
                                       battery_id=in_slot(cab, 1).pk)
    with pytest.raises(NotFound):
        workorders.work_order_complete(user=stranger, work_order_id=order.pk)
    assert in_slot(cab, 1).status == BatteryStatus.FULL

"""The alarm ladder: what the server does at once when a cabinet reports danger, and what a
person then does (acknowledge, resolve, unlock) with who and when on record."""

from __future__ import annotations

import itertools

import pytest
from django.utils import timezone

from nuanxin.accounts.models import Notification
from nuanxin.common.errors import NotFound, ServiceError
from nuanxin.energy import protocol
from nuanxin.energy.models import (
    Alarm,
    AlarmState,
    Battery,
    BatteryStatus,
    CabinetCommand,
    CustodyEntry,
    Slot,
    WorkOrder,
    WorkOrderKind,
)
from nuanxin.energy.selectors.riders import cabinets_nearby
from nuanxin.energy.services import custody, safety
from tests.factories import energy as f
from tests.factories.people import StaffFactory, WorkerFactory
from tests.factories.places import CHUITAI, YIJIASHAN, StationFactory

pytestmark = pytest.mark.django_db

_ids = itertools.count(1)


@pytest.fixture
def site():
    """A cabinet at a station in 义驾山, its operator's member, the station's community staff,
    and staff elsewhere (Wenzhou) who must not be paged."""
    station = StationFactory(region_code=YIJIASHAN)
    op = f.operator()
    cab = f.cabinet(op=op, station=station, full=6, charging=2)
    return {
        "cab": cab, "op": op,
        "member": f.operator_user(op),
        "staff": StaffFactory(region_code=YIJIASHAN),
        "far_staff": StaffFactory(region_code=CHUITAI),
        "other_member": f.operator_user(f.operator()),
    }


def device_alarm(cab, kind, *, slot=None, state="start", alarm_id=None, value=None,
                 battery=None):
    n = next(_ids)
    message = protocol.AlarmEvent(id=f"m{n}", seq=n, ts=0, serial=cab.serial,
                                  alarm_id=alarm_id or f"A{n}", kind=kind, state=state,
                                  slot=slot, battery=battery, value=value)
    return safety.alarm_on_device(cabinet=cab, message=message, at=timezone.now())


def available_at(cab) -> int:
    rows = cabinets_nearby(lat=cab.lat, lng=cab.lng, radius_m=200)
    return next(r["available"] for r in rows if r["id"] == cab.pk)


def slot(cab, number) -> Slot:
    return Slot.objects.get(cabinet=cab, number=number)


def battery_in(cab, number) -> Battery:
    return Battery.objects.get(slot__cabinet=cab, slot__number=number)


def inbox(user) -> list[Notification]:
    return list(Notification.objects.filter(user=user))


def test_over_temperature_stops_charging_locks_quarantines_and_alerts(site):
    cab = site["cab"]
    before = available_at(cab)
    hot = battery_in(cab, 1)
    alarm = device_alarm(cab, "over_temperature", slot=1, value=72.5)

    command = CabinetCommand.objects.get(cabinet=cab, command="charging")
    assert command.payload == {"slot": 1, "on": False}
    assert slot(cab, 1).locked and not slot(cab, 1).charging
    hot.refresh_from_db()
    assert hot.status == BatteryStatus.QUARANTINED and hot.slot_id == slot(cab, 1).pk
    entry = CustodyEntry.objects.filter(battery=hot).last()
    assert entry.action == "energy.battery.quarantined" and entry.to_place == "slot"
    assert custody.ledger_verify() == []
    assert (alarm.battery_id, alarm.slot_id, alarm.state) == (hot.pk, slot(cab, 1).pk, "open")
    # The hot battery is no longer offered; the other five full ones still are.
    assert available_at(cab) == before - 1
    for person in (site["member"], site["staff"]):
        [note] = inbox(person)
        assert "温度过高" in note.title and cab.name in note.body and "72.5" in note.body
    assert inbox(site["far_staff"]) == [] and inbox(site["other_member"]) == []


def test_server_detected_over_temperature_climbs_the_same_ladder_once(site):
    cab = site["cab"]
    battery = battery_in(cab, 7)  # a charging one
    first = safety.alarm_raise(cabinet=cab, kind="over_temperature", at=timezone.now(),
                               slot=7, battery=battery.serial, value=61.0)
    again = safety.alarm_raise(cabinet=cab, kind="over_temperature", at=timezone.now(),
                               slot=slot(cab, 7), battery=battery, value=63.0)
    assert again.pk == first.pk
    assert Alarm.objects.filter(cabinet=cab).count() == 1
    assert CabinetCommand.objects.filter(cabinet=cab, command="charging").count() == 1
    battery.refresh_from_db()
    assert battery.status == BatteryStatus.QUARANTINED
    assert len(inbox(site["member"])) == 1
    assert safety.OVER_TEMPERATURE_C == 60.0


def test_a_repeated_device_alarm_is_one_alarm(site):
    cab = site["cab"]
    first = device_alarm(cab, "over_temperature", slot=2, alarm_id="HOT-1", value=70)
    second = device_alarm(cab, "over_temperature", slot=2, alarm_id="HOT-1", value=70)
    assert second.pk == first.pk
    assert Alarm.objects.filter(cabinet=cab, device_alarm_id="HOT-1").count() == 1
    assert CabinetCommand.objects.filter(cabinet=cab).count() == 1
    assert CustodyEntry.objects.filter(action="energy.battery.quarantined").count() == 1
    assert len(inbox(site["staff"])) == 1


def test_a_device_end_clears_but_the_alarm_stays_open(site):
    cab = site["cab"]
    alarm = device_alarm(cab, "over_temperature", slot=3, alarm_id="HOT-2", value=66)
    ended = device_alarm(cab, "over_temperature", slot=3, alarm_id="HOT-2", state="end")
    assert ended.pk == alarm.pk
    alarm.refresh_from_db()
    assert alarm.cleared_at is not None and alarm.state == AlarmState.OPEN
    assert slot(cab, 3).locked
    assert battery_in(cab, 3).status == BatteryStatus.QUARANTINED


def test_smoke_locks_the_whole_cabinet_until_resolved(site):
    cab, member = site["cab"], site["member"]
    before = available_at(cab)
    assert before > 0
    alarm = device_alarm(cab, "smoke", slot=4, alarm_id="SMOKE-1")
    cab.refresh_from_db()
    assert cab.safety_locked
    assert CabinetCommand.objects.get(cabinet=cab, command="cabinet").payload == {
        "enabled": False}
    assert CabinetCommand.objects.get(cabinet=cab, command="charging").payload == {
        "slot": 4, "on": False}
    assert battery_in(cab, 4).status == BatteryStatus.QUARANTINED and slot(cab, 4).locked
    assert available_at(cab) == 0
    [note] = inbox(site["staff"])
    assert "烟雾" in note.title and "整柜已锁定" in note.body

    with pytest.raises(ServiceError) as refused:
        safety.cabinet_unlock(user=member, cabinet_id=cab.pk)
    assert refused.value.code == "alarm_unresolved"
    # Still smoking: resolving is refused until the cabinet reports the end.
    with pytest.raises(ServiceError) as not_cleared:
        safety.alarm_resolve(user=member, alarm_id=alarm.pk, note="到场查看")
    assert not_cleared.value.code == "alarm_not_cleared"
    device_alarm(cab, "smoke", slot=4, alarm_id="SMOKE-1", state="end")
    safety.alarm_resolve(user=member, alarm_id=alarm.pk, note="误报：空调外机水汽")
    unlocked = safety.cabinet_unlock(user=member, cabinet_id=cab.pk)
    assert not unlocked.safety_locked
    assert CabinetCommand.objects.filter(cabinet=cab, command="cabinet").last().payload == {
        "enabled": True}
    # The slot stays locked and the battery quarantined: those are separate decisions.
    assert slot(cab, 4).locked
    assert battery_in(cab, 4).status == BatteryStatus.QUARANTINED
    assert available_at(cab) == before - 1


def test_acknowledge_and_resolve_record_who_and_when(site):
    cab, staff = site["cab"], site["staff"]
    alarm = safety.alarm_raise(cabinet=cab, kind="over_temperature", at=timezone.now(),
                               slot=5, value=64.0)
    acked = safety.alarm_acknowledge(user=staff, alarm_id=alarm.pk)
    assert acked.state == AlarmState.ACKNOWLEDGED
    assert acked.acknowledged_by == staff and acked.acknowledged_at is not None
    with pytest.raises(ServiceError) as twice:
        safety.alarm_acknowledge(user=site["member"], alarm_id=alarm.pk)
    assert twice.value.status == 409
    with pytest.raises(ServiceError) as blank:
        safety.alarm_resolve(user=site["member"], alarm_id=alarm.pk, note="  ")
    assert blank.value.code == "note_required"
    done = safety.alarm_resolve(user=site["member"], alarm_id=alarm.pk, note="电池已移出送检")
    done.refresh_from_db()
    assert done.state == AlarmState.RESOLVED and done.resolved_by == site["member"]
    assert done.resolved_at >= done.acknowledged_at
    assert done.resolution_note == "电池已移出送检"
    assert done.acknowledged_by == staff  # the first to take it on stays on record


def test_unlock_is_refused_while_the_alarm_is_unresolved(site):
    cab, member = site["cab"], site["member"]
    alarm = safety.alarm_raise(cabinet=cab, kind="over_temperature", at=timezone.now(),
                               slot=1, value=65.0)
    with pytest.raises(ServiceError) as refused:
        safety.slot_unlock(user=member, slot_id=slot(cab, 1).pk)
    assert refused.value.code == "alarm_unresolved"
    assert slot(cab, 1).locked
    safety.alarm_resolve(user=member, alarm_id=alarm.pk, note="已检查")
    assert not safety.slot_unlock(user=member, slot_id=slot(cab, 1).pk).locked
    # Unlocking the slot does not return a quarantined battery to riders.
    assert battery_in(cab, 1).status == BatteryStatus.QUARANTINED
    assert available_at(cab) == 5


def test_door_jam_locks_the_slot_only(site):
    cab = site["cab"]
    before = available_at(cab)
    device_alarm(cab, "door_jam", slot=2)
    assert slot(cab, 2).locked
    assert battery_in(cab, 2).status == BatteryStatus.FULL
    assert not CabinetCommand.objects.filter(cabinet=cab).exists()
    assert available_at(cab) == before - 1  # a locked slot's battery is not offered
    assert len(inbox(site["member"])) == 1 and inbox(site["staff"]) == []


@pytest.mark.parametrize("kind", ["battery_unread", "foreign_battery"])
def test_an_unknown_battery_locks_the_slot_and_opens_an_inspection(site, kind):
    cab = site["cab"]
    alarm = safety.alarm_raise(cabinet=cab, kind=kind, at=timezone.now(), slot=11)
    assert slot(cab, 11).locked
    order = WorkOrder.objects.get(alarm=alarm)
    assert (order.kind, order.slot_id, order.state) == (
        WorkOrderKind.INSPECT_SLOT, slot(cab, 11).pk, "open")
    # The same condition reported again opens no second inspection.
    safety.alarm_raise(cabinet=cab, kind=kind, at=timezone.now(), slot=11)
    assert WorkOrder.objects.filter(slot=slot(cab, 11)).count() == 1


def test_low_health_flags_without_locking(site):
    cab = site["cab"]
    battery = battery_in(cab, 1)
    alarm = safety.alarm_raise(cabinet=cab, kind="low_health", at=timezone.now(),
                               battery=battery, value=78.0)
    assert alarm.kind == "low_health" and alarm.slot_id == battery.slot_id
    assert not slot(cab, 1).locked
    battery.refresh_from_db()
    assert battery.status == BatteryStatus.FULL


def test_nobody_acts_on_another_operators_alarm(site):
    cab = site["cab"]
    alarm = safety.alarm_raise(cabinet=cab, kind="door_jam", at=timezone.now(), slot=1)
    for outsider in (site["other_member"], site["far_staff"], WorkerFactory()):
        with pytest.raises(NotFound):
            safety.alarm_acknowledge(user=outsider, alarm_id=alarm.pk)
        with pytest.raises(NotFound):
            safety.slot_unlock(user=outsider, slot_id=slot(cab, 1).pk)
        with pytest.raises(NotFound):
            safety.cabinet_unlock(user=outsider, cabinet_id=cab.pk)
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.OPEN


@pytest.mark.django_db(transaction=True)
def test_a_cabinets_over_temperature_alarm_through_the_broker(mqtt_ingester, virtual_cabinet):
    """End to end on the real broker: the cabinet reports a hot battery, the server
    quarantines it, and the cabinet itself receives and acknowledges "stop charging"."""
    import time

    virtual = virtual_cabinet(full=4, charging=2)
    cab = virtual.cabinet
    mqtt_ingester.wait_idle(5)
    hot = battery_in(cab, 5)  # charging
    virtual.raise_alarm("over_temperature", slot=5, value=71.0)
    deadline = time.monotonic() + 15
    command = None
    while time.monotonic() < deadline:
        mqtt_ingester.wait_idle(2)
        command = CabinetCommand.objects.filter(cabinet=cab, command="charging").first()
        if command is not None and command.acked_at is not None:
            break
        time.sleep(0.2)
    assert command is not None and command.payload == {"slot": 5, "on": False}
    assert command.acked_at is not None and command.result == "ok"
    hot.refresh_from_db()
    assert hot.status == BatteryStatus.QUARANTINED
    assert slot(cab, 5).locked
    alarm = Alarm.objects.get(cabinet=cab, kind="over_temperature")
    assert alarm.device_alarm_id and alarm.value == 71.0
    assert custody.ledger_verify() == []

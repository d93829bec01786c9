"""The alarm ladder: what the server does, at once, when a cabinet reports danger.

Each alarm kind climbs a fixed ladder (LADDER below), in one transaction under the
cabinet's lock, so a battery is never left half-handled:

  over_temperature  stop charging the slot, lock the slot, quarantine the battery in place,
                    alert the operator's members and the station staff
  smoke             all of that for the slot's battery (if any), and lock the whole cabinet
                    (safety_locked + a "disable cabinet" command)
  door_jam          lock the slot, alert the operator
  battery_unread,   lock the slot, open an inspect_slot work order, alert the operator
  foreign_battery
  low_health        no lock: the alarm row flags the battery for the operator
  offline           the alarm row and a message to the operator (swaps handle the rest)

Alarms pair a cabinet's start and end messages on (cabinet, device_alarm_id): a repeated
start is the same alarm; an end records `cleared_at`, but the alarm stays open until a
person resolves it. Server-detected alarms (telemetry over 60 ℃, a battery not read) have no
device id and are deduplicated on the open alarm of the same kind, slot and battery.

A quarantined battery stays quarantined (and is therefore never offered to a rider) until a
work order returns it to service; resolving an alarm does not un-quarantine anything.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.services import audit
from nuanxin.common.errors import NotFound, ServiceError
from nuanxin.energy import locking
from nuanxin.energy.models import (
    Alarm,
    Battery,
    BatteryStatus,
    Cabinet,
    Place,
    Slot,
    WorkOrder,
    WorkOrderKind,
    WorkOrderState,
)
from nuanxin.energy.selectors.console import cabinets_visible_to
from nuanxin.energy.services import commands, custody
from nuanxin.energy.services.alarms import (
    CABINET_LOCKING_KINDS,
    LADDER,
    OVER_TEMPERATURE_C,
    UNRESOLVED,
    alarm_notify,
    alarm_open,
    alarm_recipients,
)
from nuanxin.energy.services.workflows import ALARM_WORKFLOW, still_reported

__all__ = ["OVER_TEMPERATURE_C", "LADDER", "CABINET_LOCKING_KINDS", "alarm_recipients",
           "alarm_on_device", "alarm_raise", "alarm_acknowledge", "alarm_resolve",
           "still_reported", "slot_unlock", "cabinet_unlock"]


# --- raising ------------------------------------------------------------------------------

def alarm_on_device(*, cabinet: Cabinet, message, at: datetime) -> Alarm:
    """An `alarm` message from a cabinet (protocol.AlarmEvent): start climbs the ladder once,
    a repeat is the same alarm, an end records when the cabinet saw the condition clear."""
    with transaction.atomic():
        cab = locking.lock_cabinet(cabinet.pk)
        existing = Alarm.objects.filter(cabinet=cab, device_alarm_id=message.alarm_id).first()
        if message.state == "end":
            if existing is not None:
                if existing.cleared_at is None:
                    _cleared(existing, at)
                return existing
            # The end came without its start (the start is later, or was sent before the
            # cabinet was known): treat it as a start that has already cleared, so the
            # battery is still made safe and a person still looks at it.
            alarm = _raise_locked(cabinet=cab, kind=message.kind, at=at, slot=message.slot,
                                  battery=message.battery, value=message.value,
                                  device_alarm_id=message.alarm_id)
            _cleared(alarm, at)
            return alarm
        if existing is not None:
            return existing
        return _raise_locked(cabinet=cab, kind=message.kind, at=at, slot=message.slot,
                             battery=message.battery, value=message.value,
                             device_alarm_id=message.alarm_id)


def _cleared(alarm: Alarm, at: datetime) -> None:
    alarm.cleared_at = at
    alarm.save(update_fields=["cleared_at"])
    ALARM_WORKFLOW.record(alarm, "energy.alarm.cleared", at=at, from_state=alarm.state,
                          to_state=alarm.state)


def alarm_raise(*, cabinet: Cabinet, kind: str, at: datetime, slot=None, battery=None,
                value: float | None = None, device_alarm_id: str = "") -> Alarm:
    """A server-detected alarm (or a device one, with its id). `slot` is a Slot or a slot
    number; `battery` a Battery or a serial. Runs inside the caller's transaction if there
    is one (the caller may already hold the cabinet lock: taking it again is harmless)."""
    if kind not in LADDER:
        raise ValueError(f"unknown alarm kind {kind!r}")
    with transaction.atomic():
        cab = locking.lock_cabinet(cabinet.pk)
        return _raise_locked(cabinet=cab, kind=kind, at=at, slot=slot, battery=battery,
                             value=value, device_alarm_id=device_alarm_id)


def _raise_locked(*, cabinet: Cabinet, kind: str, at: datetime, slot, battery, value,
                  device_alarm_id: str) -> Alarm:
    alarm, slot_row, battery_row, created = alarm_open(
        cabinet=cabinet, kind=kind, at=at, slot=slot, battery=battery, value=value,
        device_alarm_id=device_alarm_id)
    if created:
        if battery_row is not None and LADDER[kind].quarantine:
            _quarantine(battery=battery_row, at=at)
        alarm_notify(alarm=alarm, cabinet=cabinet, slot=slot_row, battery=battery_row)
    return alarm


def _quarantine(*, battery: Battery, at: datetime) -> None:
    if battery.status == BatteryStatus.QUARANTINED:
        return
    if battery.slot_id is not None:
        custody.battery_move(battery=battery, to_place=Place.SLOT, to_slot=battery.slot,
                             to_status=BatteryStatus.QUARANTINED,
                             action="energy.battery.quarantined", at=at)
    elif battery.holder_id is None and battery.status != BatteryStatus.RETIRED:
        custody.battery_move(battery=battery, to_place=Place.DEPOT,
                             to_status=BatteryStatus.QUARANTINED,
                             action="energy.battery.quarantined", at=at)
    # A battery a rider holds cannot be quarantined from here: the alarm row still flags
    # it, and the operator opens a work order when it comes back.


# --- people acting on alarms --------------------------------------------------------------

def _alarm_for(user, alarm_id: int) -> Alarm:
    alarm = (Alarm.objects.filter(pk=alarm_id, cabinet__in=cabinets_visible_to(user))
             .select_for_update(of=("self",)).first())
    if alarm is None:
        raise NotFound("alarm_not_found", _("找不到这条告警。"))
    return alarm


def alarm_acknowledge(*, user, alarm_id: int) -> Alarm:
    """Someone has seen it and is on it: who and when are recorded."""
    with transaction.atomic():
        alarm = _alarm_for(user, alarm_id)
        ALARM_WORKFLOW.apply(alarm, "acknowledge", actor=user)
        return alarm


def alarm_resolve(*, user, alarm_id: int, note: str) -> Alarm:
    """Closed with a note. A dangerous condition the cabinet still reports cannot be
    resolved (the table's guard); resolving does not unlock anything by itself (unlocking is
    its own act)."""
    note = (note or "").strip()
    if not note:
        raise ServiceError("note_required", _("请填写处理说明。"))
    if len(note) > 200:
        raise ServiceError("note_too_long", _("处理说明最多 200 字。"))
    with transaction.atomic():
        alarm = _alarm_for(user, alarm_id)
        ALARM_WORKFLOW.apply(alarm, "resolve", actor=user, reason=note)
        return alarm


def _unresolved_on_slot(slot: Slot):
    return Alarm.objects.filter(slot=slot, state__in=UNRESOLVED)


def slot_unlock(*, user, slot_id: int) -> Slot:
    """Open a locked slot to swaps again: refused while an alarm on it is unresolved or an
    inspection of it is still open."""
    slot = Slot.objects.filter(pk=slot_id, cabinet__in=cabinets_visible_to(user)).first()
    if slot is None:
        raise NotFound("slot_not_found", _("找不到这个仓位。"))
    with transaction.atomic():
        locking.lock_cabinet(slot.cabinet_id)
        slot = Slot.objects.get(pk=slot.pk)
        if not slot.locked:
            return slot
        if _unresolved_on_slot(slot).exists():
            raise ServiceError("alarm_unresolved",
                               _("该仓位还有未解决的告警，请先处理告警再解锁。"), status=409)
        if WorkOrder.objects.filter(slot=slot, kind=WorkOrderKind.INSPECT_SLOT,
                                    state=WorkOrderState.OPEN).exists():
            raise ServiceError("inspection_open",
                               _("该仓位的现场检查工单尚未完成。"), status=409)
        slot.locked = False
        # Someone has looked at the slot: a door held for an unanswered command is free too.
        slot.door_command = None
        slot.save(update_fields=["locked", "door_command", "updated_at"])
        audit(actor=user, action="energy.slot.unlocked", obj_type="energy.slot", obj_id=slot.pk,
              cabinet=slot.cabinet_id, number=slot.number)
        return slot


def cabinet_unlock(*, user, cabinet_id: int) -> Cabinet:
    """Lift a smoke lock: refused while a smoke alarm at the cabinet is unresolved."""
    if not cabinets_visible_to(user).filter(pk=cabinet_id).exists():
        raise NotFound("cabinet_not_found", _("找不到这个换电柜。"))
    with transaction.atomic():
        cabinet = locking.lock_cabinet(cabinet_id)
        if not cabinet.safety_locked:
            return cabinet
        if Alarm.objects.filter(cabinet=cabinet, kind__in=CABINET_LOCKING_KINDS,
                                state__in=UNRESOLVED).exists():
            raise ServiceError("alarm_unresolved",
                               _("该柜还有未解决的烟雾告警，请先到场处理并标记解决。"),
                               status=409)
        cabinet.safety_locked = False
        cabinet.save(update_fields=["safety_locked"])
        if cabinet.enabled:
            # An operator's own "disabled" stays: the smoke lock only lifts what it added.
            commands.command_send(cabinet=cabinet, kind="cabinet", payload={"enabled": True})
        audit(actor=user, action="energy.cabinet.unlocked", obj_type="energy.cabinet",
              obj_id=cabinet.pk)
        return cabinet

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

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from nuanxin.common.errors import NotFound, ServiceError
from nuanxin.energy import locking
from nuanxin.energy.models import (
    Alarm,
    AlarmKind,
    AlarmState,
    Battery,
    BatteryStatus,
    Cabinet,
    Place,
    Slot,
    WorkOrder,
    WorkOrderKind,
    WorkOrderState,
)

OVER_TEMPERATURE_C = 60.0

K = AlarmKind


@dataclass(frozen=True)
class Rung:
    stop_charging: bool = False
    lock_slot: bool = False
    quarantine: bool = False
    lock_cabinet: bool = False
    inspect: bool = False
    notify_operator: bool = False
    notify_staff: bool = False


LADDER: dict[str, Rung] = {
    K.OVER_TEMPERATURE: Rung(stop_charging=True, lock_slot=True, quarantine=True,
                             notify_operator=True, notify_staff=True),
    K.SMOKE: Rung(stop_charging=True, lock_slot=True, quarantine=True, lock_cabinet=True,
                  notify_operator=True, notify_staff=True),
    K.DOOR_JAM: Rung(lock_slot=True, notify_operator=True),
    K.BATTERY_UNREAD: Rung(lock_slot=True, inspect=True, notify_operator=True),
    K.FOREIGN_BATTERY: Rung(lock_slot=True, inspect=True, notify_operator=True),
    K.LOW_HEALTH: Rung(),
    # Swaps handle an outage themselves; the operator is told once per outage.
    K.OFFLINE: Rung(notify_operator=True),
}

# Alarms that keep a cabinet locked (and a slot locked) until a person resolves them.
CABINET_LOCKING_KINDS = (K.SMOKE,)
UNRESOLVED = (AlarmState.OPEN, AlarmState.ACKNOWLEDGED)

# Staff told about a dangerous alarm: those working at the cabinet's community, street and
# district (the people who can walk over); city and province offices are not paged.
_NOTIFY_PREFIX_LENGTHS = (6, 9, 12)

ALARM_TITLES = {
    K.OVER_TEMPERATURE: _("【换电柜告警】电池温度过高"),
    K.SMOKE: _("【换电柜告警】烟雾报警"),
    K.DOOR_JAM: _("【换电柜告警】仓门卡住"),
    K.BATTERY_UNREAD: _("【换电柜告警】电池无法识别"),
    K.FOREIGN_BATTERY: _("【换电柜告警】放入了非本人电池"),
    K.LOW_HEALTH: _("【换电柜提醒】电池健康度低"),
    K.OFFLINE: _("【换电柜提醒】柜机离线"),
}


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
                    existing.cleared_at = at
                    existing.save(update_fields=["cleared_at"])
                return existing
            # The end came without its start (the start is later, or was sent before the
            # cabinet was known): treat it as a start that has already cleared, so the
            # battery is still made safe and a person still looks at it.
            alarm = _raise_locked(cabinet=cab, kind=message.kind, at=at, slot=message.slot,
                                  battery=message.battery, value=message.value,
                                  device_alarm_id=message.alarm_id)
            alarm.cleared_at = at
            alarm.save(update_fields=["cleared_at"])
            return alarm
        if existing is not None:
            return existing
        return _raise_locked(cabinet=cab, kind=message.kind, at=at, slot=message.slot,
                             battery=message.battery, value=message.value,
                             device_alarm_id=message.alarm_id)


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


def _resolve_slot(cabinet: Cabinet, slot) -> Slot | None:
    if slot is None:
        return None
    if isinstance(slot, Slot):
        return Slot.objects.filter(pk=slot.pk).first()
    return Slot.objects.filter(cabinet=cabinet, number=int(slot)).first()


def _resolve_battery(battery, slot: Slot | None) -> Battery | None:
    if isinstance(battery, Battery):
        return Battery.objects.filter(pk=battery.pk).first()
    if battery:
        found = Battery.objects.filter(serial=str(battery)).first()
        if found is not None:
            return found
    if slot is not None:
        return Battery.objects.filter(slot=slot).first()
    return None


def _raise_locked(*, cabinet: Cabinet, kind: str, at: datetime, slot, battery, value,
                  device_alarm_id: str) -> Alarm:
    slot_row = _resolve_slot(cabinet, slot)
    battery_row = _resolve_battery(battery, slot_row)
    if slot_row is None and battery_row is not None and battery_row.slot_id is not None:
        slot_row = battery_row.slot
    if not device_alarm_id:
        # Telemetry says "too hot" every minute: one open alarm per (kind, slot, battery).
        # One the cabinet has since reported over (an outage that ended) is not reused:
        # the next episode is a new alarm.
        same = Alarm.objects.filter(cabinet=cabinet, kind=kind, state__in=UNRESOLVED,
                                    slot=slot_row, battery=battery_row,
                                    cleared_at__isnull=True).first()
        if same is not None:
            return same
    alarm = Alarm.objects.create(cabinet=cabinet, slot=slot_row, battery=battery_row, kind=kind,
                                 device_alarm_id=device_alarm_id or "", value=value,
                                 started_at=at)
    _climb(alarm=alarm, cabinet=cabinet, slot=slot_row, battery=battery_row,
           rung=LADDER[kind], at=at)
    return alarm


def _climb(*, alarm: Alarm, cabinet: Cabinet, slot: Slot | None, battery: Battery | None,
           rung: Rung, at: datetime) -> None:
    from nuanxin.energy.services import commands

    if slot is not None and rung.stop_charging:
        # Always sent, even if the server believes the slot is not charging: the cabinet's
        # view is what matters and "off" twice does no harm.
        commands.command_send(cabinet=cabinet, kind="charging",
                              payload={"slot": slot.number, "on": False})
        Slot.objects.filter(pk=slot.pk).update(charging=False)
    if slot is not None and rung.lock_slot:
        Slot.objects.filter(pk=slot.pk).update(locked=True)
    if battery is not None and rung.quarantine:
        _quarantine(battery=battery, at=at)
    if rung.lock_cabinet and not cabinet.safety_locked:
        Cabinet.objects.filter(pk=cabinet.pk).update(safety_locked=True)
        cabinet.safety_locked = True
        commands.command_send(cabinet=cabinet, kind="cabinet", payload={"enabled": False})
    if rung.inspect and slot is not None:
        already = WorkOrder.objects.filter(kind=WorkOrderKind.INSPECT_SLOT, slot=slot,
                                           state=WorkOrderState.OPEN).exists()
        if not already:
            WorkOrder.objects.create(kind=WorkOrderKind.INSPECT_SLOT,
                                     operator_id=cabinet.operator_id, cabinet=cabinet, slot=slot,
                                     battery=battery, alarm=alarm,
                                     note=str(AlarmKind(alarm.kind).label)[:200])
    if rung.notify_operator or rung.notify_staff:
        _notify(alarm=alarm, cabinet=cabinet, slot=slot, battery=battery,
                staff=rung.notify_staff)


def _quarantine(*, battery: Battery, at: datetime) -> None:
    from nuanxin.energy.services import custody

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


def alarm_recipients(cabinet: Cabinet, *, staff: bool = True) -> list[int]:
    """User ids told about an alarm at `cabinet`: its operator's members, and (for dangerous
    alarms) the staff working where it stands."""
    from nuanxin.accounts.models import PartnerMember, StaffProfile

    ids = list(PartnerMember.objects.filter(partner__energy_operator__id=cabinet.operator_id)
               .values_list("user_id", flat=True))
    if staff:
        region_code = (cabinet.station.region_id if cabinet.station_id else cabinet.region_id)
        prefixes = {region_code[:n] for n in _NOTIFY_PREFIX_LENGTHS}
        ids += list(StaffProfile.objects.filter(org_unit__region__prefix__in=prefixes,
                                                user__is_active=True)
                    .values_list("user_id", flat=True))
    return ids


def _notify(*, alarm: Alarm, cabinet: Cabinet, slot: Slot | None, battery: Battery | None,
            staff: bool) -> None:
    from nuanxin.accounts.services import notify_many

    where = cabinet.name + (gettext(" %(n)s 号仓") % {"n": slot.number} if slot else "")
    parts = [where]
    if battery is not None:
        parts.append(gettext("电池 %(serial)s") % {"serial": battery.serial})
    if alarm.value is not None and alarm.kind == K.OVER_TEMPERATURE:
        parts.append(gettext("温度 %(t).1f ℃") % {"t": alarm.value})
    rung = LADDER[alarm.kind]
    if rung.quarantine:
        parts.append(gettext("已自动停止充电、锁定仓位并隔离电池"))
    if rung.lock_cabinet:
        parts.append(gettext("整柜已锁定"))
    if cabinet.address:
        parts.append(cabinet.address)
    try:
        link = reverse("energy_console:alarms") + f"?cabinet={cabinet.pk}"
    except NoReverseMatch:
        link = ""
    notify_many(user_ids=alarm_recipients(cabinet, staff=staff),
                title=str(ALARM_TITLES[alarm.kind]), body="；".join(parts), link=link,
                dedupe_key=f"energy.alarm.{alarm.pk}")


# --- people acting on alarms --------------------------------------------------------------

def _alarm_for(user, alarm_id: int) -> Alarm:
    from nuanxin.energy.selectors.console import cabinets_visible_to

    alarm = (Alarm.objects.filter(pk=alarm_id, cabinet__in=cabinets_visible_to(user))
             .select_for_update(of=("self",)).first())
    if alarm is None:
        raise NotFound("alarm_not_found", _("找不到这条告警。"))
    return alarm


def alarm_acknowledge(*, user, alarm_id: int) -> Alarm:
    """Someone has seen it and is on it: who and when are recorded."""
    with transaction.atomic():
        alarm = _alarm_for(user, alarm_id)
        if alarm.state != AlarmState.OPEN:
            raise ServiceError("alarm_not_open", _("这条告警已有人确认或已解决。"), status=409)
        alarm.state = AlarmState.ACKNOWLEDGED
        alarm.acknowledged_by = user
        alarm.acknowledged_at = timezone.now()
        alarm.save(update_fields=["state", "acknowledged_by", "acknowledged_at"])
        return alarm


def alarm_resolve(*, user, alarm_id: int, note: str) -> Alarm:
    """Closed with a note. A dangerous condition the cabinet still reports cannot be
    resolved; resolving does not unlock anything by itself (unlocking is its own act)."""
    note = (note or "").strip()
    if not note:
        raise ServiceError("note_required", _("请填写处理说明。"))
    if len(note) > 200:
        raise ServiceError("note_too_long", _("处理说明最多 200 字。"))
    with transaction.atomic():
        alarm = _alarm_for(user, alarm_id)
        if alarm.state == AlarmState.RESOLVED:
            raise ServiceError("alarm_resolved", _("这条告警已经解决。"), status=409)
        if still_reported(alarm) and not _battery_gone(alarm):
            raise ServiceError("alarm_not_cleared",
                               _("柜机仍在报告这一告警，消除后才能标记为已解决。"), status=409)
        now = timezone.now()
        alarm.state = AlarmState.RESOLVED
        alarm.resolved_by = user
        alarm.resolved_at = now
        alarm.resolution_note = note
        fields = ["state", "resolved_by", "resolved_at", "resolution_note"]
        if alarm.acknowledged_at is None:
            # Resolving is also seeing it: the record shows who first took it on.
            alarm.acknowledged_by, alarm.acknowledged_at = user, now
            fields += ["acknowledged_by", "acknowledged_at"]
        alarm.save(update_fields=fields)
        return alarm


def still_reported(alarm: Alarm) -> bool:
    """A dangerous condition the cabinet has not yet reported over."""
    return bool(alarm.device_alarm_id and alarm.cleared_at is None
                and alarm.kind in (K.SMOKE, K.OVER_TEMPERATURE))


def _battery_gone(alarm: Alarm) -> bool:
    """The hot battery has been taken out of the cabinet (a work order moved it): what the
    cabinet may still report about it no longer describes anything inside, so a person
    may close the alarm (a faulty sensor must not keep it open for ever)."""
    if alarm.kind != K.OVER_TEMPERATURE or alarm.battery_id is None:
        return False
    return not Battery.objects.filter(pk=alarm.battery_id,
                                      slot__cabinet_id=alarm.cabinet_id).exists()


def _unresolved_on_slot(slot: Slot):
    return Alarm.objects.filter(slot=slot, state__in=UNRESOLVED)


def slot_unlock(*, user, slot_id: int) -> Slot:
    """Open a locked slot to swaps again: refused while an alarm on it is unresolved or an
    inspection of it is still open."""
    from nuanxin.accounts.services import audit
    from nuanxin.energy.selectors.console import cabinets_visible_to

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
    from nuanxin.accounts.services import audit
    from nuanxin.energy.selectors.console import cabinets_visible_to
    from nuanxin.energy.services import commands

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

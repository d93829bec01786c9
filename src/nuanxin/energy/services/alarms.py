"""Alarms: the row, the ladder's rungs that need no battery moved, and who is told.

The lowest domain layer of energy (swaps | work orders -> safety -> custody -> alarms):
custody raises alarms here when a slot holds something it cannot account for; safety adds
the one rung that moves a battery (quarantine, through custody) for the dangerous kinds.
See safety.py for the ladder as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import PartnerMember, StaffProfile
from nuanxin.accounts.services import notify_many
from nuanxin.energy import locking
from nuanxin.energy.models import (
    Alarm,
    AlarmKind,
    AlarmState,
    Battery,
    Cabinet,
    Slot,
    WorkOrder,
    WorkOrderKind,
    WorkOrderState,
)
from nuanxin.energy.services import commands
from nuanxin.energy.services.workflows import ALARM_WORKFLOW, WORK_ORDER_WORKFLOW

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



def alarm_raise(*, cabinet: Cabinet, kind: str, at: datetime, slot=None, battery=None,
                value: float | None = None) -> Alarm:
    """A server-detected alarm of a kind whose ladder moves no battery (an unreadable or
    unknown battery in a slot): the row, its rungs and its notification."""
    if kind not in LADDER:
        raise ValueError(f"unknown alarm kind {kind!r}")
    if LADDER[kind].quarantine:
        raise ValueError(f"{kind} quarantines a battery: raise it through safety.alarm_raise")
    with transaction.atomic():
        cab = locking.lock_cabinet(cabinet.pk)
        alarm, slot_row, battery_row, created = alarm_open(
            cabinet=cab, kind=kind, at=at, slot=slot, battery=battery, value=value,
            device_alarm_id="")
        if created:
            alarm_notify(alarm=alarm, cabinet=cab, slot=slot_row, battery=battery_row)
        return alarm


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


def alarm_open(*, cabinet: Cabinet, kind: str, at: datetime, slot, battery, value,
               device_alarm_id: str) -> tuple[Alarm, Slot | None, Battery | None, bool]:
    """The alarm row (or the open one it repeats) and every rung of its ladder but the
    quarantine (custody's, one layer up: `safety.alarm_raise`) and the notification.
    Returns (alarm, slot, battery, created). The caller holds the cabinet lock."""
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
            return same, slot_row, battery_row, False
    alarm = Alarm.objects.create(cabinet=cabinet, slot=slot_row, battery=battery_row, kind=kind,
                                 device_alarm_id=device_alarm_id or "", value=value,
                                 started_at=at)
    ALARM_WORKFLOW.record(alarm, "energy.alarm.raised", at=at, to_state=alarm.state,
                          data={"kind": kind, "value": value,
                                "slot": slot_row.number if slot_row else None,
                                "battery": battery_row.serial if battery_row else None})
    _climb(alarm=alarm, cabinet=cabinet, slot=slot_row, battery=battery_row, rung=LADDER[kind])
    return alarm, slot_row, battery_row, True


def _climb(*, alarm: Alarm, cabinet: Cabinet, slot: Slot | None, battery: Battery | None,
           rung: Rung) -> None:
    if slot is not None and rung.stop_charging:
        # Always sent, even if the server believes the slot is not charging: the cabinet's
        # view is what matters and "off" twice does no harm.
        commands.command_send(cabinet=cabinet, kind="charging",
                              payload={"slot": slot.number, "on": False})
        Slot.objects.filter(pk=slot.pk).update(charging=False)
    if slot is not None and rung.lock_slot:
        Slot.objects.filter(pk=slot.pk).update(locked=True)
    if rung.lock_cabinet and not cabinet.safety_locked:
        Cabinet.objects.filter(pk=cabinet.pk).update(safety_locked=True)
        cabinet.safety_locked = True
        commands.command_send(cabinet=cabinet, kind="cabinet", payload={"enabled": False})
    if rung.inspect and slot is not None:
        already = WorkOrder.objects.filter(kind=WorkOrderKind.INSPECT_SLOT, slot=slot,
                                           state=WorkOrderState.OPEN).exists()
        if not already:
            order = WorkOrder.objects.create(kind=WorkOrderKind.INSPECT_SLOT,
                                             operator_id=cabinet.operator_id, cabinet=cabinet,
                                             slot=slot, battery=battery, alarm=alarm,
                                             note=str(AlarmKind(alarm.kind).label)[:200])
            WORK_ORDER_WORKFLOW.record(order, "energy.work_order.opened", at=alarm.started_at,
                                       to_state=order.state, data={"alarm": alarm.pk})


def alarm_recipients(cabinet: Cabinet, *, staff: bool = True) -> list[int]:
    """User ids told about an alarm at `cabinet`: its operator's members, and (for dangerous
    alarms) the staff working where it stands."""
    ids = list(PartnerMember.objects.filter(partner__energy_operator__id=cabinet.operator_id)
               .values_list("user_id", flat=True))
    if staff:
        region_code = (cabinet.station.region_id if cabinet.station_id else cabinet.region_id)
        prefixes = {region_code[:n] for n in _NOTIFY_PREFIX_LENGTHS}
        ids += list(StaffProfile.objects.filter(org_unit__region__prefix__in=prefixes,
                                                user__is_active=True)
                    .values_list("user_id", flat=True))
    return ids


def alarm_notify(*, alarm: Alarm, cabinet: Cabinet, slot: Slot | None,
                 battery: Battery | None) -> None:
    """Tell the people the alarm's rung names (nobody, for a rung that notifies no one)."""
    rung = LADDER[alarm.kind]
    if not (rung.notify_operator or rung.notify_staff):
        return
    staff = rung.notify_staff
    where = cabinet.name + (gettext(" %(n)s 号仓") % {"n": slot.number} if slot else "")
    parts = [where]
    if battery is not None:
        parts.append(gettext("电池 %(serial)s") % {"serial": battery.serial})
    if alarm.value is not None and alarm.kind == K.OVER_TEMPERATURE:
        parts.append(gettext("温度 %(t).1f ℃") % {"t": alarm.value})
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

"""Where the device side hands what cabinets report to the domain: the one dispatcher.

The device side (protocol, MQTT client, `services.device` ingest, the command outbox)
parses, deduplicates and orders messages and keeps each slot's door and reported contents;
what a report *means* (a swap moves on, a battery changes hands, an alarm climbs its ladder)
is decided by the domain, reached only through the functions below. Every one of them is
called inside the ingester's transaction, with the cabinet locked, unless it says otherwise.

    ingest / device ──> dispatch ──> swaps | workorders | health ──> safety ──> custody
                                                              ──> alarms ──> models

Plain imports, no lookup by name: renaming a handler breaks the import, not the ingester.
"""

from __future__ import annotations

from datetime import datetime

from nuanxin.energy import protocol
from nuanxin.energy.models import AlarmKind, Battery, Cabinet, Place, Slot
from nuanxin.energy.services import commands, custody, health, safety, swaps

__all__ = ["door_event", "slot_contents", "alarm_event", "command_ack", "cabinet_offline",
           "cabinet_online", "battery_too_hot", "battery_status_in_slot", "battery_health_low",
           "housekeeping"]


def slot_contents(*, cabinet: Cabinet, slot_number: int, battery_serial: str | None,
                  unread: bool, at: datetime, source: str) -> None:
    """The cabinet says what is in a slot no swap accounts for: the ledger follows."""
    custody.slot_reconcile(cabinet=cabinet, slot_number=slot_number,
                           battery_serial=battery_serial, unread=unread, at=at, source=source)


def door_event(*, cabinet: Cabinet, message: protocol.DoorEvent, at: datetime) -> None:
    """A door opened, closed or jammed: the swap of the command it answers moves on; a door
    closing that no open swap accounts for is reconciled with the ledger."""
    used = swaps.swap_on_door_event(cabinet=cabinet, slot_number=message.slot,
                                    event=message.event, battery_serial=message.battery,
                                    unread=message.unread, at=at, seq=message.seq,
                                    cmd=message.cmd)
    if not used and message.event == "closed":
        slot_contents(cabinet=cabinet, slot_number=message.slot,
                      battery_serial=message.battery, unread=message.unread, at=at,
                      source="door")


def alarm_event(*, cabinet: Cabinet, message: protocol.AlarmEvent, at: datetime) -> None:
    safety.alarm_on_device(cabinet=cabinet, message=message, at=at)


def command_ack(*, cabinet: Cabinet, message: protocol.CommandAck, at: datetime) -> None:
    """The outbox records the ack; the swap waiting for that command hears of it once."""
    command, first = commands.command_record_ack(cabinet=cabinet, message=message, at=at)
    if command is not None and first and command.swap_id is not None:
        swaps.swap_on_command_ack(command=command, ok=message.result == "ok",
                                  error=message.error, at=at)


def cabinet_offline(*, cabinet: Cabinet, at: datetime, raise_alarm: bool) -> None:
    """Its swaps wait (suspended); the operator hears of the outage once."""
    swaps.swap_on_cabinet_offline(cabinet=cabinet, at=at)
    if raise_alarm:
        safety.alarm_raise(cabinet=cabinet, kind=AlarmKind.OFFLINE, at=at)


def cabinet_online(*, cabinet: Cabinet, at: datetime) -> None:
    swaps.swap_on_cabinet_online(cabinet=cabinet, at=at)


def battery_too_hot(*, cabinet: Cabinet, slot: Slot | None, battery: Battery | None,
                    temp_c: float, at: datetime) -> None:
    """Telemetry read a cell at or over the limit and no alarm for it is open yet."""
    safety.alarm_raise(cabinet=cabinet, kind=AlarmKind.OVER_TEMPERATURE, at=at, slot=slot,
                       battery=battery, value=temp_c)


def battery_status_in_slot(*, battery: Battery, status: str, at: datetime) -> None:
    """charging ⇄ full in place, through the ledger (its replay must give today's status)."""
    custody.battery_move(battery=battery, to_place=Place.SLOT, to_status=status,
                         to_slot=battery.slot,
                         action="energy.battery.charged_full" if status == "full"
                         else "energy.battery.below_full", at=at)


def battery_health_low(*, battery_id: int, at: datetime) -> None:
    """In its own transaction: a health estimate crossed the retirement line."""
    health.health_flag_low(battery_id=battery_id, at=at)


def housekeeping(*, now: datetime) -> None:
    """About once a second, outside any transaction: step deadlines, then forgotten doors."""
    swaps.swaps_expire_overdue(now=now)
    commands.door_holds_expire(now=now)

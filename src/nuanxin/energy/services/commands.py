"""Commands down to cabinets (`cab/{serial}/down/{kind}`) and their acknowledgements.

A command is a row first (so the swap that caused it can find it and its ack), published
only once the transaction that created it commits: a rolled-back swap never opens a door.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nuanxin.common.errors import ServiceError, lazy_format
from nuanxin.energy import mqtt, protocol
from nuanxin.energy.models import (
    OPEN_SWAP_STATES,
    Cabinet,
    CabinetCommand,
    DeviceMessage,
    Slot,
    Swap,
)

log = logging.getLogger(__name__)

__all__ = ["command_send", "command_resend", "command_record_ack", "next_seq",
           "door_closed", "door_hold_release", "door_holds_expire"]

# A cabinet answers a command within seconds; one it has not acknowledged while it kept
# talking for this long never reached it (or was dropped by a reboot).
HOLD_UNACKED_S = 120

_seq_lock = threading.Lock()
_last_seq = 0


def next_seq() -> int:
    """The server's sequence number: microseconds since the epoch, forced strictly upwards.

    Time-based, so it keeps increasing across restarts and across the processes that send
    commands (web workers, ingesters) without any shared counter; within one process the
    lock makes it strictly increasing even when the clock stalls or steps back.
    """
    global _last_seq
    with _seq_lock:
        _last_seq = max(_last_seq + 1, time.time_ns() // 1000)
        return _last_seq


def command_send(*, cabinet: Cabinet, kind: str, payload: dict,
                 swap: Swap | None = None) -> CabinetCommand:
    """Record a command and publish it (QoS 1) once the caller's transaction commits."""
    fields = protocol.DOWN_KINDS.get(kind)
    if fields is None:
        raise ServiceError("command_unknown", _("未知的柜机指令。"))
    missing = [name for name in fields if name not in payload]
    if missing:
        raise ServiceError("command_incomplete", lazy_format(_("柜机指令缺少参数：%(fields)s"),
                                       fields=", ".join(missing)))
    reserved = {"id", "seq", "ts", "serial"} & payload.keys()
    if reserved:
        raise ServiceError("command_incomplete", _("柜机指令参数不合法。"))
    with transaction.atomic():
        command = CabinetCommand.objects.create(
            cabinet=cabinet, msg_id=uuid.uuid4().hex, command=kind, payload=dict(payload),
            swap=swap, created_at=timezone.now())
        if kind == "open_door":
            # Held from now until the cabinet reports this door closed (door_hold_release).
            Slot.objects.filter(cabinet=cabinet, number=payload["slot"]).update(
                door_command=command)
        serial = cabinet.serial
        transaction.on_commit(lambda: _publish(command.pk, serial, kind, command.msg_id,
                                               dict(payload)))
    return command


def command_resend(*, command: CabinetCommand) -> None:
    """Publish an unacknowledged command again, once the caller's transaction commits, with
    the SAME message id: a cabinet that already obeyed it answers again without acting twice."""
    serial, kind, msg_id, payload = (command.cabinet.serial, command.command, command.msg_id,
                                     dict(command.payload))
    transaction.on_commit(lambda: _publish(command.pk, serial, kind, msg_id, payload))


def _publish(command_id: int, serial: str, kind: str, msg_id: str, payload: dict) -> None:
    now = timezone.now()
    # sent_at first: the cabinet's ack can come back before a write after publish() would.
    CabinetCommand.objects.filter(pk=command_id).update(sent_at=now)
    body = {"id": msg_id, "seq": next_seq(), "ts": int(now.timestamp() * 1000),
            "serial": serial, **payload}
    try:
        mqtt.publish(protocol.down_topic(serial, kind),
                     json.dumps(body, separators=(",", ":")).encode(), qos=1)
    except Exception:
        # The broker is unreachable: the command stays unsent (sent_at empty) and the swap's
        # step timeout explains it to the rider; never fail the request that already committed.
        log.exception("could not publish command %s to %s", msg_id, serial)
        CabinetCommand.objects.filter(pk=command_id, acked_at__isnull=True).update(sent_at=None)


def command_record_ack(*, cabinet: Cabinet, message: protocol.CommandAck,
                       at: datetime) -> tuple[CabinetCommand | None, bool]:
    """Record a cabinet's ack of one of our commands: (the command, whether this ack is the
    first). The dispatcher then tells the swap waiting for it.

    Called inside the ingester's transaction (cabinet locked). An ack for a command we never
    sent (or another cabinet's) gives None; a second ack of the same command changes nothing.
    """
    command = (CabinetCommand.objects.select_related("swap")
               .filter(cabinet=cabinet, msg_id=message.cmd).first())
    if command is None:
        log.warning("cabinet %s acked unknown command %s", cabinet.serial, message.cmd)
        return None, False
    if command.acked_at is not None:
        return command, False
    ok = message.result == "ok"
    command.acked_at = at
    command.result = "ok" if ok else (message.error or "error")[:24]
    command.ack_seq = message.seq
    CabinetCommand.objects.filter(pk=command.pk).update(acked_at=at, result=command.result,
                                                        ack_seq=message.seq)
    if not ok and command.command == "open_door":
        door_hold_release(cabinet_id=cabinet.pk, command=command)  # the door did not open
    return command, True


def door_hold_release(*, cabinet_id: int, command: CabinetCommand | None = None,
                      slot_number: int | None = None) -> int:
    """Free a door held by its open_door command: the cabinet reported it closed, refused
    to open it, or a snapshot taken after the command shows it shut. With `command`, only a
    hold by that very command is released (a later command's hold stays)."""
    slots = Slot.objects.filter(cabinet_id=cabinet_id, door_command__isnull=False)
    if command is not None:
        slots = slots.filter(door_command=command)
    if slot_number is not None:
        slots = slots.filter(number=slot_number)
    return slots.update(door_command=None)


def door_closed(*, cabinet_id: int, slot_number: int, cmd: str | None) -> None:
    """The cabinet reports a door closed: its hold ends if the report answers the command
    that holds it (a report naming no command is a door nobody commanded: it shut too)."""
    slot = Slot.objects.filter(cabinet_id=cabinet_id, number=slot_number,
                               door_command__isnull=False).first()
    if slot is not None and (cmd is None or CabinetCommand.objects.filter(
            pk=slot.door_command_id, msg_id=cmd).exists()):
        door_hold_release(cabinet_id=cabinet_id, slot_number=slot_number)


def door_holds_expire(*, now: datetime | None = None) -> int:
    """Release doors held by a command the cabinet never acknowledged although it has been
    heard from for HOLD_UNACKED_S since; an open swap's own step timeout handles its doors."""
    now = now or timezone.now()
    limit = now - timedelta(seconds=HOLD_UNACKED_S)
    released = 0
    stale = (Slot.objects.filter(door_command__acked_at__isnull=True,
                                 door_command__created_at__lt=limit)
             .exclude(door_command__swap__state__in=OPEN_SWAP_STATES)
             .values_list("pk", "cabinet_id", "door_command_id", "door_command__created_at"))
    for slot_id, cabinet_id, command_id, created_at in stale:
        heard = DeviceMessage.objects.filter(
            cabinet_id=cabinet_id,
            received_at__gt=created_at + timedelta(seconds=HOLD_UNACKED_S)).exists()
        if heard:
            released += Slot.objects.filter(pk=slot_id, door_command_id=command_id).update(
                door_command=None)
    return released

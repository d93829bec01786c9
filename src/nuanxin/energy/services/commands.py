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
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nuanxin.common.errors import ServiceError, lazy_format
from nuanxin.energy import protocol
from nuanxin.energy.models import Cabinet, CabinetCommand, Swap

log = logging.getLogger(__name__)

__all__ = ["command_send", "command_on_ack", "next_seq"]

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
    from nuanxin.energy import mqtt

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


def command_on_ack(*, cabinet: Cabinet, message: protocol.CommandAck,
                   at: datetime) -> CabinetCommand | None:
    """Record a cabinet's ack of one of our commands and tell the swap waiting for it.

    Called inside the ingester's transaction (cabinet locked). An ack for a command we never
    sent (or another cabinet's) returns None; a second ack of the same command is ignored.
    """
    command = (CabinetCommand.objects.select_related("swap")
               .filter(cabinet=cabinet, msg_id=message.cmd).first())
    if command is None:
        log.warning("cabinet %s acked unknown command %s", cabinet.serial, message.cmd)
        return None
    if command.acked_at is not None:
        return command
    ok = message.result == "ok"
    command.acked_at = at
    command.result = "ok" if ok else (message.error or "error")[:24]
    CabinetCommand.objects.filter(pk=command.pk).update(acked_at=at, result=command.result)
    if command.swap_id is not None:
        from nuanxin.energy.services import swaps

        swaps.swap_on_command_ack(command=command, ok=ok, error=message.error, at=at)
    return command

"""The one way to take a cabinet's scarce things (slots, batteries, swaps) for a write.

Rule: a transaction that changes a cabinet's slots, the batteries in them or a swap at it
first calls `lock_cabinet` (once, late: after validation, just before the write), then
re-reads and checks what it is about to change. On PostgreSQL the row lock serialises
writers of one cabinet while other cabinets proceed in parallel; SQLite serialises every
writer anyway (IMMEDIATE transactions). A rider's own battery changes hands only through a
swap at a cabinet or a work order at the depot, so the cabinet lock covers it too; work
orders on a battery at the depot lock the battery row (`lock_battery`).
"""

from __future__ import annotations

import logging
import time

from django.db import OperationalError, transaction
from django.utils.translation import gettext_lazy as _

from nuanxin.common.errors import NotFound
from nuanxin.energy.models import Battery, Cabinet

log = logging.getLogger(__name__)


def lock_cabinet(cabinet_id: int) -> Cabinet:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_cabinet must run inside transaction.atomic()")
    # NO KEY UPDATE: a cabinet's key never changes, and a full row lock would also block the
    # foreign-key checks of every row inserted for it (telemetry batches' dedup rows),
    # which deadlocked against swaps on PostgreSQL.
    cabinet = (Cabinet.objects.select_for_update(of=("self",), no_key=True)
               .filter(pk=cabinet_id).first())
    if cabinet is None:
        raise NotFound("cabinet_not_found", _("找不到这个换电柜。"))
    return cabinet


def lock_battery(battery_id: int) -> Battery:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_battery must run inside transaction.atomic()")
    battery = Battery.objects.select_for_update(of=("self",)).filter(pk=battery_id).first()
    if battery is None:
        raise NotFound("battery_not_found", _("找不到这块电池。"))
    return battery


def retry_on_conflict(fn):
    """Run a whole transaction again if PostgreSQL aborted it to break a deadlock or a
    serialisation conflict (the ingester's batches lock batteries, a swap locks its cabinet
    first: the database picks a victim, and the victim simply tries again)."""
    for attempt in range(4):
        try:
            return fn()
        except OperationalError as exc:
            state = getattr(exc.__cause__, "sqlstate", None)
            if (attempt == 3 or state not in ("40P01", "40001")
                    or transaction.get_connection().in_atomic_block):
                raise
            log.info("transaction retried after %s", state)
            time.sleep(0.05 * (attempt + 1))
    return None

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

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from nuanxin.common.errors import NotFound
from nuanxin.energy.models import Battery, Cabinet


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

"""The custody ledger: every move of every battery, and the check that it adds up.

A battery's row says where it is now (`slot`, `holder` or neither: the depot) and the
database refuses a row that contradicts itself. `CustodyEntry` is the append-only history of
how it got there. `battery_move` is the only writer of a battery's place: it changes the row
and appends the entry in the caller's transaction (the caller holds the cabinet lock), so the
two can never drift apart. The entries are a common.ledger ledger (`BATTERY_CUSTODY`, a
HolderLedger): append-only by the base (no save of an existing entry, no delete, no bulk
update or delete), and `ledger_verify` replays it and compares.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from nuanxin.common.ledger import HolderLedger
from nuanxin.energy import locking
from nuanxin.energy.models import (
    DEPOT_STATUSES,
    SLOT_STATUSES,
    Battery,
    BatteryStatus,
    Cabinet,
    CustodyEntry,
    Place,
    Slot,
    WorkOrder,
    WorkOrderKind,
    WorkOrderState,
)
from nuanxin.energy.services import alarms

log = logging.getLogger("nuanxin.energy.custody")

ACTION_FOUND = "energy.battery.found_in_slot"
ACTION_MISSING = "energy.battery.missing_from_slot"


def place_of(battery: Battery) -> str:
    if battery.slot_id is not None:
        return Place.SLOT
    if battery.holder_id is not None:
        return Place.RIDER
    return Place.DEPOT


def _check_destination(to_place: str, to_status: str, to_slot, to_rider) -> None:
    # A programming error, not a user's: the database would refuse it too, less clearly.
    if to_place == Place.SLOT:
        ok = to_slot is not None and to_rider is None and to_status in SLOT_STATUSES
    elif to_place == Place.RIDER:
        ok = to_slot is None and to_rider is not None and to_status == BatteryStatus.WITH_RIDER
    elif to_place == Place.DEPOT:
        ok = to_slot is None and to_rider is None and to_status in DEPOT_STATUSES
    else:
        ok = False
    if not ok:
        raise ValueError(f"impossible destination: {to_place} status={to_status} "
                         f"slot={getattr(to_slot, 'pk', None)} "
                         f"rider={getattr(to_rider, 'pk', None)}")


def battery_move(*, battery: Battery, to_place: str, to_status: str, action: str,
                 to_slot: Slot | None = None, to_rider=None, swap=None, work_order=None,
                 actor=None, at: datetime | None = None) -> CustodyEntry:
    """Move `battery` (or change its status in place) and append the ledger entry."""
    _check_destination(to_place, to_status, to_slot, to_rider)
    at = at or timezone.now()
    # The caller's object may be stale (read before the cabinet lock): the ledger's
    # "from" must be where the row says the battery is now.
    current = Battery.objects.filter(pk=battery.pk).values("slot_id", "holder_id",
                                                          "status").get()
    from_slot_id, from_rider_id = current["slot_id"], current["holder_id"]
    from_place = (Place.SLOT if from_slot_id else Place.RIDER if from_rider_id else Place.DEPOT)
    to_slot_id = to_slot.pk if to_slot is not None else None
    if from_slot_id is not None and from_slot_id != to_slot_id:
        # A slot charges only what is in it.
        Slot.objects.filter(pk=from_slot_id).update(charging=False)
    Battery.objects.filter(pk=battery.pk).update(
        slot_id=to_slot_id, holder_id=to_rider.pk if to_rider is not None else None,
        status=to_status)
    battery.slot_id = to_slot_id
    battery.holder_id = to_rider.pk if to_rider is not None else None
    battery.status = to_status
    if to_slot is not None:
        battery.slot = to_slot
    if to_rider is not None:
        battery.holder = to_rider
    return CustodyEntry.objects.create(
        battery=battery, at=at, action=action, from_place=from_place, from_slot_id=from_slot_id,
        from_rider_id=from_rider_id, to_place=to_place, to_slot=to_slot, to_rider=to_rider,
        to_status=to_status, swap=swap, work_order=work_order, actor=actor)


def _where(place: str, slot_id, rider_id) -> str:
    return f"{place}/{slot_id or rider_id or '-'}"


class BatteryCustody(HolderLedger):
    """The custody ledger as a common.ledger HolderLedger: one account per battery, its state
    (place, slot, rider, status); a slot and a rider's hands hold one battery each. Rows are
    read as named tuples (a fleet's whole ledger is replayed without model instances)."""

    entry_noun = "custody"

    def accounts(self, account_ids=None):
        return super().accounts(account_ids).values_list(
            "pk", "serial", "slot_id", "holder_id", "status", named=True)

    def entries(self, account_ids=None):
        return super().entries(account_ids).values_list(
            "id", "battery_id", "action", "from_place", "from_slot_id", "from_rider_id",
            "to_place", "to_slot_id", "to_rider_id", "to_status", named=True)

    def label(self, battery) -> str:
        return f"battery {battery.serial}"

    def origin(self, entry):
        return ((entry.from_place, entry.from_slot_id, entry.from_rider_id)
                if entry.from_place else None)

    def state_after(self, entry):
        return (entry.to_place, entry.to_slot_id, entry.to_rider_id, entry.to_status)

    def position(self, state):
        return state[:3]

    def describe_position(self, position) -> str:
        return _where(*position)

    def describe(self, state) -> str:
        return f"{_where(*state[:3])} ({state[3]})"

    def current(self, battery):
        place = (Place.SLOT if battery.slot_id else Place.RIDER if battery.holder_id
                 else Place.DEPOT)
        return (place, battery.slot_id, battery.holder_id, battery.status)

    def check(self, b) -> list[str]:
        problems = []
        if b.slot_id is not None and b.holder_id is not None:
            problems.append(f"battery {b.serial} is in a slot and with a rider at once")
        if b.slot_id is not None and b.status not in SLOT_STATUSES:
            problems.append(f"battery {b.serial} is in a slot with status {b.status}")
        if b.holder_id is not None and b.status != BatteryStatus.WITH_RIDER:
            problems.append(f"battery {b.serial} is with a rider with status {b.status}")
        if b.slot_id is None and b.holder_id is None and b.status not in DEPOT_STATUSES:
            problems.append(f"battery {b.serial} is nowhere with status {b.status}")
        return problems

    def holders(self, state) -> list[str]:
        _place, slot_id, rider_id, _status = state
        return ([f"slot {slot_id}"] if slot_id is not None else []) + (
            [f"rider {rider_id}"] if rider_id is not None else [])

    def clash(self, holder: str, accounts: list) -> str:
        serials = ", ".join(b.serial for b in accounts)
        if holder.startswith("rider"):
            return f"{holder}: the ledger gives them {serials} at once"
        return f"{holder}: the ledger puts {serials} in it at once"

    def cross_check(self, states, accounts) -> list[str]:
        ledger_slots: dict[int, list[str]] = defaultdict(list)
        for pk, state in states.items():
            if state[1] is not None and pk in accounts:
                ledger_slots[state[1]].append(accounts[pk].serial)
        return _reported_disagreements(ledger_slots, {b.serial for b in accounts.values()})


BATTERY_CUSTODY = BatteryCustody(entry_model=CustodyEntry, account_model=Battery)


def ledger_verify() -> list[str]:
    """Every problem found, one sentence each; an empty list means the ledger holds.

    Checks: each battery's row names exactly one place agreeing with its status (the
    database's one-to-one keys already refuse two batteries in one slot or one rider's
    hands); its ledger is an unbroken chain (each entry starts where the previous one ended)
    whose last entry is the row's place and status; the replayed ledger puts no two
    batteries in one slot or with one rider; and each closed slot's last report from its
    cabinet agrees with the ledger.
    """
    return BATTERY_CUSTODY.verify()


def _reported_disagreements(ledger_slots: dict[int, list[str]],
                            known_serials: set[str]) -> list[str]:
    """Each slot whose cabinet last reported other contents than the ledger puts there.

    A door that is open or commanded open is mid-way through a hand-over: the report from
    before the door opened is not compared until the door's closing is reported. A battery
    the cabinet cannot read, or one that is not ours at all, in a slot the ledger calls empty
    is already known while a person is sent to look (the inspection work order settles it)."""
    problems = []
    inspected = set(WorkOrder.objects.filter(kind=WorkOrderKind.INSPECT_SLOT,
                                             state=WorkOrderState.OPEN)
                    .values_list("slot_id", flat=True))
    reported = (Slot.objects.filter(reported_at__isnull=False, door_open=False,
                                    door_command__isnull=True)
                .values_list("pk", "number", "cabinet__serial", "reported_battery",
                             "reported_unread").order_by("cabinet__serial", "number"))
    for slot_id, number, serial, battery, unread in reported.iterator(chunk_size=5000):
        in_ledger = ledger_slots.get(slot_id, [])
        ledger = in_ledger[0] if len(in_ledger) == 1 else ""
        foreign_under_inspection = (not in_ledger and battery not in known_serials
                                    and slot_id in inspected)
        if unread:
            # Unreadable is not yet a disagreement; an empty ledger is, unless a person is
            # already sent to look (the inspection work order settles it).
            if not in_ledger and slot_id not in inspected:
                problems.append(f"slot {serial}#{number}: the cabinet reports a battery it "
                                f"cannot read, the ledger says the slot is empty")
        elif battery != ledger and not foreign_under_inspection:
            problems.append(f"slot {serial}#{number}: the cabinet reports "
                            f"{battery or 'it empty'}, the ledger says "
                            f"{ledger or 'it is empty'}")
    return problems


def _in_slot_status(battery: Battery, cabinet: Cabinet) -> str:
    if battery.status == BatteryStatus.QUARANTINED or battery.operator_id != cabinet.operator_id:
        # A battery that was quarantined, or isn't this operator's, is never offered.
        return BatteryStatus.QUARANTINED
    if battery.status in (BatteryStatus.MAINTENANCE, BatteryStatus.RETIRED):
        return BatteryStatus.QUARANTINED
    if battery.soc_pct >= cabinet.full_threshold_pct:
        return BatteryStatus.FULL
    return BatteryStatus.CHARGING


def _alarm(*, cabinet: Cabinet, kind: str, at: datetime, slot=None, battery=None):
    return alarms.alarm_raise(cabinet=cabinet, kind=kind, at=at, slot=slot, battery=battery)


def slot_reconcile(*, cabinet: Cabinet, slot_number: int, battery_serial: str | None,
                   unread: bool, at: datetime, source: str) -> list[CustodyEntry]:
    """The cabinet reports what is in a slot with no swap involved: make the ledger agree.

    Never silent: a battery appearing is moved in with `energy.battery.found_in_slot`, one
    gone is moved to the depot as quarantined with `energy.battery.missing_from_slot` and an
    alarm, an unknown or unreadable battery raises an alarm and locks the slot.
    """
    moves: list[CustodyEntry] = []
    with transaction.atomic():
        cabinet = locking.lock_cabinet(cabinet.pk)
        slot = Slot.objects.filter(cabinet=cabinet, number=slot_number).first()
        if slot is None:
            log.warning("reconcile: cabinet %s has no slot %s", cabinet.serial, slot_number)
            return moves
        current = Battery.objects.filter(slot=slot).first()
        if unread:
            # Something is in there that can't be read. If the ledger has a battery there,
            # it most likely is that one: keep it. If the ledger says empty, lock the slot
            # until someone looks.
            if current is None:
                Slot.objects.filter(pk=slot.pk).update(locked=True)
                _alarm(cabinet=cabinet, kind="battery_unread", at=at, slot=slot)
            return moves
        if current is not None and current.serial == battery_serial:
            return moves
        data_source = {"source": source}
        if current is not None:
            moves.append(battery_move(battery=current, to_place=Place.DEPOT,
                                      to_status=BatteryStatus.QUARANTINED, action=ACTION_MISSING,
                                      at=at))
            log.warning("reconcile %s#%s: battery %s missing (%s)", cabinet.serial, slot_number,
                        current.serial, data_source)
            _alarm(cabinet=cabinet, kind="battery_unread", at=at, slot=slot, battery=current)
        if battery_serial:
            found = Battery.objects.filter(serial=battery_serial).first()
            if found is None:
                # Not one of ours: nothing to move, but nobody may be handed it.
                Slot.objects.filter(pk=slot.pk).update(locked=True)
                _alarm(cabinet=cabinet, kind="foreign_battery", at=at, slot=slot)
                log.warning("reconcile %s#%s: unknown battery %s", cabinet.serial, slot_number,
                            battery_serial)
            else:
                if found.slot_id is not None and found.slot_id != slot.pk:
                    # It can't be in two slots: the other slot's claim is stale.
                    log.warning("reconcile: battery %s leaves slot %s for %s#%s", found.serial,
                                found.slot_id, cabinet.serial, slot_number)
                moves.append(battery_move(battery=found, to_place=Place.SLOT, to_slot=slot,
                                          to_status=_in_slot_status(found, cabinet),
                                          action=ACTION_FOUND, at=at))
                log.warning("reconcile %s#%s: battery %s found (%s)", cabinet.serial,
                            slot_number, battery_serial, data_source)
    return moves

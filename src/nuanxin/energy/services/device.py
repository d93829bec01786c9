"""Applying what cabinets report: the server side of `cab/{serial}/up/#`.

`ingest_batch` takes raw (topic, payload, receive time) triples, as the MQTT loop in
`energy/ingest.py` collects them, and:

1. parses each with `protocol.parse_up`; refuses bad topics, unknown kinds, malformed JSON,
   a payload naming another cabinet than its topic, impossible values, unknown cabinets,
   slots and batteries. Every refusal is an `IngestRejection` row, a log line and a count;
   nothing else is touched by a refused message.
2. deduplicates on (cabinet, message id) with `DeviceMessage`, claimed by
   `INSERT ... ON CONFLICT DO NOTHING RETURNING` in the same transaction as the apply, so a
   message is applied exactly once even when QoS 1 delivers it twice to two ingesters.
3. applies telemetry in bulk (one transaction per batch, a handful of queries whatever its
   size) and every other message one by one, per cabinet in sequence order, under the
   cabinet lock.

Ordering: the cabinet's `seq`, never its clock. A slot snapshot older (lower seq) than the
slot state already applied is ignored; a telemetry reading older than the battery's last is
ignored. Events (doors, alarms, acks) are never dropped for being late: queued events a
cabinet sends after a reconnect carry old timestamps and are still applied, in seq order.
Clock skew: `Cabinet.clock_offset_s` = cabinet clock - server clock, from boot and
heartbeat messages.

This module keeps the device's own facts (online, seq, each slot's door and reported
contents, telemetry); what a report means for swaps, the ledger and alarms is handed to
`nuanxin.energy.dispatch`, and only to it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from nuanxin.energy import dispatch, locking, protocol
from nuanxin.energy.models import (
    OPEN_SWAP_STATES,
    Alarm,
    AlarmKind,
    AlarmState,
    Battery,
    BatteryHealthSample,
    BatteryStatus,
    Cabinet,
    CabinetCommand,
    DeviceMessage,
    IngestRejection,
    Slot,
    Swap,
)
from nuanxin.energy.services import commands, health
from nuanxin.energy.services.alarms import OVER_TEMPERATURE_C

log = logging.getLogger(__name__)

__all__ = ["Incoming", "IngestStats", "CabinetDirectory", "ingest_batch",
           "cabinets_sweep_offline", "cabinet_mark_offline", "REJECTION_REASONS"]

REJECTION_REASONS = ("bad_topic", "unknown_kind", "malformed", "serial_mismatch",
                     "impossible_value", "unknown_cabinet", "unknown_slot", "unknown_battery",
                     "duplicate", "apply_error")
WILL_KIND = "will"  # `cab/{serial}/up/will`: the cabinet's last will, set by the broker
# Below the cabinet's full threshold by this much, a "full" battery counts as charging again.
FULL_HYSTERESIS_PCT = 3.0
CHUNK = 500
# An event taking longer than this to apply is logged: a rider is waiting on it.
SLOW_EVENT_S = 0.2


@dataclass(frozen=True, slots=True)
class Incoming:
    topic: str
    payload: bytes
    at: datetime  # server receive time (UTC)


@dataclass
class IngestStats:
    """In-process counters (the ingest command prints them; tests read them)."""

    received: int = 0
    applied: int = 0
    telemetry: int = 0
    stale: int = 0
    rejected: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def reject(self, reason: str, n: int = 1) -> None:
        with self.lock:
            self.rejected[reason] += n

    def snapshot(self) -> dict:
        with self.lock:
            return {"received": self.received, "applied": self.applied,
                    "telemetry": self.telemetry, "stale": self.stale,
                    "rejected": dict(self.rejected)}


@dataclass(frozen=True, slots=True)
class CabinetInfo:
    id: int
    serial: str
    slot_count: int
    full_pct: int


class CabinetDirectory:
    """serial → cabinet, cached: telemetry of thousands of cabinets must not cost a query per
    message. Unknown serials are remembered briefly so a misconfigured device can't make
    every one of its messages a query."""

    TTL = 60.0
    NEGATIVE_TTL = 5.0

    def __init__(self) -> None:
        self._known: dict[str, tuple[float, CabinetInfo | None]] = {}

    def lookup(self, serials: set[str]) -> dict[str, CabinetInfo]:
        now = time.monotonic()
        found: dict[str, CabinetInfo] = {}
        missing = []
        for serial in serials:
            hit = self._known.get(serial)
            if hit is not None and now - hit[0] < (self.TTL if hit[1] else self.NEGATIVE_TTL):
                if hit[1] is not None:
                    found[serial] = hit[1]
            else:
                missing.append(serial)
        for start in range(0, len(missing), CHUNK):
            part = missing[start:start + CHUNK]
            rows = Cabinet.objects.filter(serial__in=part).values_list(
                "id", "serial", "slot_count", "full_threshold_pct")
            seen = set()
            for row in rows:
                info = CabinetInfo(*row)
                found[info.serial] = info
                self._known[info.serial] = (now, info)
                seen.add(info.serial)
            for serial in set(part) - seen:
                self._known[serial] = (now, None)
        return found

    def forget(self) -> None:
        self._known.clear()


_default_directory = CabinetDirectory()
_default_stats = IngestStats()


# --------------------------------------------------------------------------- entry point
def ingest_batch(items: list[Incoming], *, stats: IngestStats | None = None,
                 directory: CabinetDirectory | None = None) -> None:
    """Parse, check, deduplicate and apply a batch of received messages."""
    stats = stats or _default_stats
    directory = directory or _default_directory
    rejections: list[IngestRejection] = []

    def reject(item: Incoming, reason: str, detail: str = "", serial: str = "") -> None:
        stats.reject(reason)
        log.warning("rejected %s on %s: %s %s", reason, item.topic[:200], serial, detail)
        rejections.append(IngestRejection(received_at=item.at, reason=reason,
                                          topic=item.topic[:200], serial=serial[:64],
                                          detail=detail[:300]))

    parsed: list[tuple[Incoming, str, protocol._Message | None, str]] = []
    for item in items:
        parts = item.topic.split("/")
        if len(parts) == 4 and parts[0] == "cab" and parts[2] == "up" and parts[3] == WILL_KIND:
            parsed.append((item, WILL_KIND, None, parts[1]))
            continue
        try:
            kind, message = protocol.parse_up(item.topic, item.payload)
        except protocol.ProtocolError as exc:
            reject(item, exc.reason, exc.detail, exc.serial)
            continue
        parsed.append((item, kind, message, message.serial))

    cabinets = directory.lookup({serial for _, _, _, serial in parsed}) if parsed else {}
    telemetry: list[tuple[Incoming, CabinetInfo, protocol.Telemetry]] = []
    events: dict[int, list[tuple[Incoming, CabinetInfo, str, protocol._Message | None]]] = (
        defaultdict(list))
    for item, kind, message, serial in parsed:
        cab = cabinets.get(serial)
        if cab is None:
            reject(item, "unknown_cabinet", "", serial)
            continue
        slot = getattr(message, "slot", None)
        if slot is not None and slot > cab.slot_count:
            reject(item, "impossible_value", f"slot {slot} > {cab.slot_count}", serial)
            continue
        if kind == "telemetry":
            telemetry.append((item, cab, message))  # type: ignore[arg-type]
        else:
            events[cab.id].append((item, cab, kind, message))

    # Events first: a rider is waiting on a door; telemetry can wait a few milliseconds.
    for cabinet_events in events.values():
        # The will has no seq: it goes where it arrived (after what came before it).
        cabinet_events.sort(key=lambda e: e[3].seq if e[3] is not None else float("inf"))
        for item, cab, kind, message in cabinet_events:
            started = time.monotonic()
            try:
                outcome = _apply_event(cab, kind, message, item.at)
            except protocol.ProtocolError as exc:
                reject(item, exc.reason, exc.detail, cab.serial)
                continue
            except Exception as exc:
                log.exception("applying %s from %s failed", kind, cab.serial)
                reject(item, "apply_error", f"{type(exc).__name__}: {exc}", cab.serial)
                continue
            took = time.monotonic() - started
            if took > SLOW_EVENT_S:
                log.warning("slow %s from %s: %.0f ms", kind, cab.serial, took * 1000)
            if outcome == "duplicate":
                reject(item, "duplicate", message.id if message else "", cab.serial)
            elif outcome == "stale":
                stats.add(stale=1, applied=1)
            else:
                stats.add(applied=1)

    if telemetry:
        try:
            _apply_telemetry(telemetry, stats=stats, reject=reject)
        except Exception as exc:
            log.exception("applying a telemetry batch of %d failed", len(telemetry))
            for item, cab, _ in telemetry:
                reject(item, "apply_error", f"{type(exc).__name__}: {exc}", cab.serial)

    if rejections:
        IngestRejection.objects.bulk_create(rejections)


# --------------------------------------------------------------------------- dedup
def _claim(rows: list[tuple[int, str, int, str]], at: datetime) -> set[tuple[int, str]]:
    """Insert (cabinet_id, msg_id, seq, kind) into the dedup table; returns the keys that
    were new. Must run inside the transaction that applies them."""
    claimed: set[tuple[int, str]] = set()
    received = connection.ops.adapt_datetimefield_value(at)
    rows = sorted(rows)  # one lock order for every ingester: no deadlock between two batches
    sql = ("INSERT INTO energy_devicemessage (cabinet_id, msg_id, seq, kind, received_at) "
           "{source} ON CONFLICT (cabinet_id, msg_id) DO NOTHING RETURNING cabinet_id, msg_id")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Five array parameters whatever the batch size: the statement text never
            # changes, so the driver's query parsing is cached (thousands of %s are not).
            cursor.execute(sql.format(source="SELECT * FROM unnest(%s::bigint[], %s::text[], "
                                             "%s::bigint[], %s::text[]) AS m, "
                                             "(SELECT %s::timestamptz) AS t"),
                           [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                            [r[3] for r in rows], at])
            claimed.update((int(c), m) for c, m in cursor.fetchall())
            return claimed
        for start in range(0, len(rows), CHUNK):
            part = rows[start:start + CHUNK]
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(part))
            params: list = []
            for cabinet_id, msg_id, seq, kind in part:
                params += [cabinet_id, msg_id, seq, kind, received]
            cursor.execute(sql.format(source=f"VALUES {values}"), params)
            claimed.update((int(c), m) for c, m in cursor.fetchall())
    return claimed


def _retrying(fn, *args, **kwargs):
    """Run a transaction, once more if the database broke a deadlock or serialisation
    failure by aborting it (PostgreSQL, two ingesters touching the same rows)."""
    for attempt in range(3):
        try:
            return fn(*args, **kwargs)
        except OperationalError as exc:
            text = str(exc).lower()
            if attempt == 2 or not any(w in text for w in ("deadlock", "could not serialize",
                                                           "database is locked")):
                raise
            time.sleep(0.05 * (attempt + 1))
    return None


# --------------------------------------------------------------------------- events
def _apply_event(cab: CabinetInfo, kind: str, message, at: datetime) -> str:
    if kind == WILL_KIND:
        cabinet_mark_offline(cabinet_id=cab.id, at=at, reason="will")
        return "applied"
    if kind == "heartbeat":
        return _retrying(_apply_heartbeat, cab, message, at)
    return _retrying(_apply_locked_event, cab, kind, message, at)


def _clock_offset(message, at: datetime) -> float:
    return round(message.ts / 1000.0 - at.timestamp(), 3)


def _apply_heartbeat(cab: CabinetInfo, message: protocol.Heartbeat, at: datetime) -> str:
    with transaction.atomic():
        if not _claim([(cab.id, message.id, message.seq, "heartbeat")], at):
            return "duplicate"
        row = Cabinet.objects.filter(pk=cab.id).values("online", "clock_offset_s").first()
        offset = _clock_offset(message, at)
        updates: dict = {"last_heartbeat_at": at}
        # A heartbeat queued while offline arrives with an old timestamp: it says nothing
        # about the clock. Live ones agree with the boot's offset to within network delay.
        if offset >= row["clock_offset_s"] - 5.0:
            updates["clock_offset_s"] = offset
        Cabinet.objects.filter(pk=cab.id).update(**updates)
        Cabinet.objects.filter(pk=cab.id, last_seq__lt=message.seq).update(last_seq=message.seq)
        if not row["online"]:
            _bring_online(cab.id, at)
    return "applied"


def _bring_online(cabinet_id: int, at: datetime) -> None:
    cabinet = locking.lock_cabinet(cabinet_id)
    if cabinet.online:
        return
    cabinet.online = True
    Cabinet.objects.filter(pk=cabinet_id).update(online=True)
    log.info("cabinet %s online", cabinet.serial)
    _came_back(cabinet, at)


def _apply_locked_event(cab: CabinetInfo, kind: str, message, at: datetime) -> str:
    with transaction.atomic():
        if not _claim([(cab.id, message.id, message.seq, kind)], at):
            return "duplicate"
        cabinet = locking.lock_cabinet(cab.id)
        Cabinet.objects.filter(pk=cab.id, last_seq__lt=message.seq).update(last_seq=message.seq)
        if kind == "boot":
            return _on_boot(cabinet, message, at)
        if kind == "slot":
            return _on_slot(cabinet, message, at)
        if kind == "door":
            return _on_door(cabinet, message, at)
        if kind == "alarm":
            dispatch.alarm_event(cabinet=cabinet, message=message, at=at)
            return "applied"
        if kind == "ack":
            dispatch.command_ack(cabinet=cabinet, message=message, at=at)
            return "applied"
    raise AssertionError(kind)


def _on_boot(cabinet: Cabinet, message: protocol.Boot, at: datetime) -> str:
    was_online = cabinet.online
    Cabinet.objects.filter(pk=cabinet.pk).update(
        online=True, last_heartbeat_at=at, firmware=message.firmware,
        hardware_model=message.hardware_model or cabinet.hardware_model,
        clock_offset_s=_clock_offset(message, at))
    cabinet.online = True
    log.info("cabinet %s booted (firmware %s, %s queued)", cabinet.serial, message.firmware,
             message.queued)
    if not was_online:
        _came_back(cabinet, at)
    return "applied"


def _slot_row(cabinet: Cabinet, number: int) -> Slot:
    slot = Slot.objects.filter(cabinet=cabinet, number=number).first()
    if slot is None:
        raise protocol.ProtocolError("unknown_slot", f"slot {number}", cabinet.serial)
    return slot


def _slot_in_open_swap(slot: Slot) -> bool:
    return Swap.objects.filter(state__in=OPEN_SWAP_STATES).filter(
        Q(return_slot=slot) | Q(release_slot=slot)).exists()


def _cabinet_of_battery(serial: str | None) -> int | None:
    if not serial:
        return None
    return (Battery.objects.filter(serial=serial).values_list("slot__cabinet_id", flat=True)
            .first())


def _docked(cabinet: Cabinet, serial: str | None, before: int | None, seq: int) -> None:
    """A battery that just arrived in this cabinet: its telemetry is ordered by this
    cabinet's seq from now on (the last cabinet's seq numbers mean nothing here)."""
    if serial and before != cabinet.pk:
        Battery.objects.filter(serial=serial, slot__cabinet=cabinet).update(telemetry_seq=seq)


def _on_slot(cabinet: Cabinet, message: protocol.SlotStatus, at: datetime) -> str:
    slot = _slot_row(cabinet, message.slot)
    if message.seq <= slot.status_seq:
        return "stale"
    Slot.objects.filter(pk=slot.pk).update(
        door_open=message.door == "open", charging=message.charging, status_seq=message.seq,
        reported_battery=message.battery or "", reported_unread=message.unread,
        reported_at=at)
    held = slot.door_command_id is not None
    if held and message.door == "closed" and CabinetCommand.objects.filter(
            pk=slot.door_command_id, ack_seq__lt=message.seq).exists():
        # Taken after the cabinet carried the command out, and shut: the door has closed.
        commands.door_hold_release(cabinet_id=cabinet.pk, command=slot.door_command)
        held = False
    # While a door is open, commanded open or used by a swap, its contents are in flux: the
    # swap (or the door's close event) accounts for them, not a snapshot taken mid-way.
    if message.door == "closed" and not held and not _slot_in_open_swap(slot):
        before = _cabinet_of_battery(message.battery)
        dispatch.slot_contents(cabinet=cabinet, slot_number=message.slot,
                               battery_serial=message.battery, unread=message.unread, at=at,
                               source="snapshot")
        _docked(cabinet, message.battery, before, message.seq)
    return "applied"


def _on_door(cabinet: Cabinet, message: protocol.DoorEvent, at: datetime) -> str:
    slot = _slot_row(cabinet, message.slot)
    if message.seq > slot.status_seq:
        updates: dict = {"door_open": message.event == "opened", "status_seq": message.seq}
        if message.event == "closed":
            updates.update(reported_battery=message.battery or "",
                           reported_unread=message.unread, reported_at=at)
        Slot.objects.filter(pk=slot.pk).update(**updates)
    before = _cabinet_of_battery(message.battery)
    dispatch.door_event(cabinet=cabinet, message=message, at=at)
    if message.event == "closed":
        _docked(cabinet, message.battery, before, message.seq)
    return "applied"


# --------------------------------------------------------------------------- offline
def cabinet_mark_offline(*, cabinet_id: int, at: datetime, reason: str) -> bool:
    """Mark a cabinet offline (heartbeat silence or its last will) and suspend its swaps."""
    with transaction.atomic():
        cabinet = locking.lock_cabinet(cabinet_id)
        if not cabinet.online:
            return False
        if reason == "silence":
            limit = at - timedelta(seconds=settings.ENERGY_OFFLINE_AFTER_S)
            if cabinet.last_heartbeat_at is not None and cabinet.last_heartbeat_at >= limit:
                return False  # a heartbeat came in meanwhile
        Cabinet.objects.filter(pk=cabinet_id).update(online=False)
        cabinet.online = False
        log.warning("cabinet %s offline (%s)", cabinet.serial, reason)
        # The operator hears of it once per outage; the alarm clears when the cabinet
        # returns and stays for a person to resolve (a flapping cabinet needs a look).
        first = not Alarm.objects.filter(cabinet=cabinet, kind=AlarmKind.OFFLINE,
                                         cleared_at__isnull=True).exclude(
            state=AlarmState.RESOLVED).exists()
        dispatch.cabinet_offline(cabinet=cabinet, at=at, raise_alarm=first)
    return True


def _came_back(cabinet: Cabinet, at: datetime) -> None:
    Alarm.objects.filter(cabinet=cabinet, kind=AlarmKind.OFFLINE,
                         cleared_at__isnull=True).update(cleared_at=at)
    dispatch.cabinet_online(cabinet=cabinet, at=at)


def cabinets_sweep_offline(*, now: datetime | None = None) -> int:
    """Every online cabinet silent for ENERGY_OFFLINE_AFTER_S goes offline; returns how many."""
    now = now or timezone.now()
    limit = now - timedelta(seconds=settings.ENERGY_OFFLINE_AFTER_S)
    ids = list(Cabinet.objects.filter(online=True)
               .filter(Q(last_heartbeat_at__lt=limit) | Q(last_heartbeat_at__isnull=True))
               .values_list("id", flat=True))
    return sum(cabinet_mark_offline(cabinet_id=i, at=now, reason="silence") for i in ids)


# --------------------------------------------------------------------------- telemetry
_TEL_FIELDS = (  # (column, PostgreSQL type)
    ("soc_pct", "double precision"), ("voltage_v", "double precision"),
    ("current_a", "double precision"), ("cell_min_mv", "integer"),
    ("cell_max_mv", "integer"), ("cell_temp_c", "double precision"),
    ("charge_ah_total", "double precision"), ("cycle_count", "integer"),
    ("soh_pct", "double precision"), ("session_start_soc", "double precision"),
    ("session_start_ah", "double precision"), ("telemetry_seq", "bigint"),
    ("last_telemetry_at", "timestamp with time zone"),
)


def _apply_telemetry(telemetry, *, stats: IngestStats, reject) -> None:
    outcome = _retrying(_telemetry_transaction, telemetry)
    duplicates, unknown, stale, applied, after = outcome
    for item, cab, message in duplicates:
        reject(item, "duplicate", message.id, cab.serial)
    for item, cab, message in unknown:
        reject(item, "unknown_battery", message.battery, cab.serial)
    stats.add(applied=applied + stale, telemetry=applied, stale=stale)
    if after["seq"]:
        _retrying(_bump_last_seq, after["seq"])
    _telemetry_after(after)


def _bump_last_seq(seqs: dict[int, int]) -> None:
    """Cabinet.last_seq = max(last_seq, highest telemetry seq), after the batch committed.

    Separate from the batch: the batch holds battery rows, swaps take the cabinet first and
    then batteries; taking cabinets inside the batch could close that circle."""
    items = sorted(seqs.items())
    with transaction.atomic(), connection.cursor() as cursor:
        _relaxed_commit()
        for start in range(0, len(items), CHUNK):
            part = items[start:start + CHUNK]
            ids = [cabinet_id for cabinet_id, _ in part]
            # Row locks in id order, so two ingesters doing this never deadlock.
            list(Cabinet.objects.select_for_update(no_key=True).filter(pk__in=ids)
                 .order_by("pk").values_list("pk", flat=True))
            if connection.vendor == "postgresql":
                cursor.execute(
                    "UPDATE energy_cabinet SET last_seq = v.seq FROM unnest(%s::bigint[], "
                    "%s::bigint[]) AS v (id, seq) WHERE energy_cabinet.id = v.id "
                    "AND energy_cabinet.last_seq < v.seq", [ids, [seq for _, seq in part]])
                continue
            params = [value for pair in part for value in pair]
            cursor.execute(
                f"WITH v (id, seq) AS (VALUES {', '.join(['(%s, %s)'] * len(part))}) "  # noqa: S608
                "UPDATE energy_cabinet SET last_seq = v.seq FROM v "
                "WHERE energy_cabinet.id = v.id AND energy_cabinet.last_seq < v.seq", params)


def _telemetry_transaction(telemetry):
    at = max(item.at for item, _, _ in telemetry)
    duplicates, unknown = [], []
    stale = applied = 0
    with transaction.atomic():
        _relaxed_commit()
        _share_cabinets(sorted({cab.id for _, cab, _ in telemetry}))
        claimed = _claim([(cab.id, m.id, m.seq, "telemetry") for _, cab, m in telemetry], at)
        fresh = []
        for entry in telemetry:
            _, cab, m = entry
            if (cab.id, m.id) in claimed:
                claimed.discard((cab.id, m.id))  # the same id twice in one batch: once
                fresh.append(entry)
            else:
                duplicates.append(entry)
        serials = sorted({m.battery for _, _, m in fresh})
        rows: dict[str, dict] = {}
        for start in range(0, len(serials), CHUNK):
            # Locked in id order: two ingesters updating overlapping batteries queue instead
            # of deadlocking (PostgreSQL; SQLite serialises writers anyway).
            query = (Battery.objects.select_for_update(of=("self",), no_key=True)
                     .filter(serial__in=serials[start:start + CHUNK]).order_by("id")
                     .values("id", "serial", "status", "slot_id", "slot__cabinet_id",
                             "soc_pct", "soh_pct", "cycle_count", "charge_ah_total",
                             "session_start_soc", "session_start_ah", "telemetry_seq",
                             "last_telemetry_at", "model__capacity_ah"))
            for row in query:
                rows[row["serial"]] = row
        with_samples = set()
        if rows:
            ids = [r["id"] for r in rows.values()]
            for start in range(0, len(ids), CHUNK):
                with_samples.update(BatteryHealthSample.objects.filter(
                    battery_id__in=ids[start:start + CHUNK]).values_list("battery_id", flat=True)
                    .distinct())
        fresh.sort(key=lambda e: (e[2].battery, e[2].seq))
        changed: dict[str, dict] = {}
        estimates: list[health.Estimate] = []
        after: dict = {"hot": [], "low": [], "status": [], "seq": {}}
        for item, cab, m in fresh:
            row = rows.get(m.battery)
            if row is None:
                unknown.append((item, cab, m))
                continue
            # Telemetry of a battery the server places elsewhere (a rider's, or one whose
            # arrival is not yet applied) must not overwrite what its own place reports;
            # older readings than the last applied are superseded.
            if row["slot__cabinet_id"] != cab.id or m.seq <= row["telemetry_seq"]:
                stale += 1
                continue
            estimate = health.reading_apply(
                row, soc=m.soc_pct, charge_ah=m.charge_ah, current_a=m.current_a,
                reported_cycles=m.cycle_count, at=item.at,
                rated_capacity_ah=float(row["model__capacity_ah"]),
                has_samples=row["id"] in with_samples)
            row.update(voltage_v=m.voltage_v, current_a=m.current_a, cell_min_mv=m.cell_min_mv,
                       cell_max_mv=m.cell_max_mv, cell_temp_c=m.cell_temp_c,
                       telemetry_seq=m.seq, full_pct=cab.full_pct)
            changed[m.battery] = row
            applied += 1
            if m.seq > after["seq"].get(cab.id, -1):
                after["seq"][cab.id] = m.seq
            if estimate is not None:
                estimates.append(estimate)
                with_samples.add(row["id"])
                if estimate.crossed_retirement:
                    after["low"].append((row["id"], item.at))
            if m.cell_temp_c >= OVER_TEMPERATURE_C:
                after["hot"].append((cab.id, row["id"], m.slot, m.cell_temp_c, item.at))
        for row in changed.values():
            cab_full = row["full_pct"]
            if row["status"] == BatteryStatus.CHARGING and row["soc_pct"] >= cab_full:
                after["status"].append((row["slot__cabinet_id"], row["id"], BatteryStatus.FULL))
            elif (row["status"] == BatteryStatus.FULL
                  and row["soc_pct"] < cab_full - FULL_HYSTERESIS_PCT):
                after["status"].append((row["slot__cabinet_id"], row["id"],
                                        BatteryStatus.CHARGING))
        _bulk_update_batteries(list(changed.values()))
        if estimates:
            health.samples_write(estimates)
    return duplicates, unknown, stale, applied, after


def _relaxed_commit() -> None:
    """PostgreSQL: this transaction's COMMIT need not wait for its WAL flush.

    Only for telemetry: a crash of the database server within the WAL writer's delay
    (200 ms) could lose the last readings, atomically (rows and dedup together, never a
    half-applied batch), and the next reading comes within a minute. Waiting for a flush
    per batch would cost more than the rest of the batch. Door, ack and alarm events keep
    the durable commit."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _share_cabinets(ids: list[int]) -> None:
    """PostgreSQL: take the batch's cabinets FOR KEY SHARE, in id order, before any battery.

    The dedup rows reference their cabinet, and Django's foreign keys are checked at COMMIT
    (DEFERRABLE INITIALLY DEFERRED) with exactly this lock. Taken only then, the batch would
    hold battery rows while waiting for a cabinet that a swap holds (`lock_cabinet`) while
    that swap waits for one of those batteries: a deadlock PostgreSQL breaks after a second.
    Taken first, every writer goes cabinet, then battery. KEY SHARE does not block other
    ingesters, only a transaction holding the cabinet FOR UPDATE (a swap step, briefly)."""
    if connection.vendor != "postgresql" or not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM energy_cabinet WHERE id = ANY(%s) ORDER BY id "
                       "FOR KEY SHARE", [ids])


def _bulk_update_batteries(rows: list[dict]) -> None:
    """One UPDATE ... FROM (a row source) per chunk: a few statements for any batch size."""
    if not rows:
        return
    columns = ["id"] + [name for name, _ in _TEL_FIELDS]
    sets = ", ".join(f"{name} = v.{name}" for name, _ in _TEL_FIELDS)
    rows = sorted(rows, key=lambda r: r["id"])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array per column (see _claim): constant statement text, any row count.
            arrays = ", ".join(["%s::bigint[]"] + [f"%s::{t}[]" for _, t in _TEL_FIELDS])
            params = [[row[name] for row in rows] for name in columns]
            cursor.execute(
                f"UPDATE energy_battery SET {sets} FROM unnest({arrays}) "  # noqa: S608
                f"AS v ({', '.join(columns)}) WHERE energy_battery.id = v.id", params)
            return
        marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
        adapt = connection.ops.adapt_datetimefield_value
        for start in range(0, len(rows), CHUNK):
            part = rows[start:start + CHUNK]
            params = []
            for row in part:
                params.append(row["id"])
                for name, _ in _TEL_FIELDS:
                    value = row[name]
                    params.append(adapt(value) if name == "last_telemetry_at" else value)
            cursor.execute(
                f"WITH v ({', '.join(columns)}) AS (VALUES {', '.join([marks] * len(part))}) "  # noqa: S608
                f"UPDATE energy_battery SET {sets} FROM v WHERE energy_battery.id = v.id",
                params)


def _telemetry_after(after: dict) -> None:
    """What a batch found that needs more than a field update, each in its own transaction
    after the batch committed (rare; one failing must not undo the batch)."""
    for cabinet_id, battery_id, slot_number, temp, at in after["hot"]:
        try:
            _raise_over_temperature(cabinet_id, battery_id, slot_number, temp, at)
        except Exception:
            log.exception("over-temperature alarm for battery %s failed", battery_id)
    for battery_id, at in after["low"]:
        try:
            dispatch.battery_health_low(battery_id=battery_id, at=at)
        except Exception:
            log.exception("low-health flag for battery %s failed", battery_id)
    for cabinet_id, battery_id, status in after["status"]:
        try:
            _retrying(_battery_status_in_slot, cabinet_id, battery_id, status)
        except Exception:
            log.exception("status %s for battery %s failed", status, battery_id)


def _raise_over_temperature(cabinet_id: int, battery_id: int, slot_number: int,
                            temp: float, at: datetime) -> None:
    with transaction.atomic():
        cabinet = locking.lock_cabinet(cabinet_id)
        open_alarm = Alarm.objects.filter(
            cabinet=cabinet, battery_id=battery_id, kind=AlarmKind.OVER_TEMPERATURE).exclude(
            state=AlarmState.RESOLVED).exists()
        if open_alarm:
            return  # one alarm per episode: the operator resolves it, then it may fire again
        slot = Slot.objects.filter(cabinet=cabinet, number=slot_number).first()
        battery = Battery.objects.filter(pk=battery_id).first()
        dispatch.battery_too_hot(cabinet=cabinet, slot=slot, battery=battery, temp_c=temp,
                                 at=at)


def _battery_status_in_slot(cabinet_id: int, battery_id: int, status: str) -> None:
    """charging ⇄ full in place, through the custody ledger (its replay must give today's
    status)."""
    with transaction.atomic():
        locking.lock_cabinet(cabinet_id)
        battery = (Battery.objects.select_related("slot__cabinet").filter(pk=battery_id)
                   .first())
        if battery is None or battery.slot is None or battery.slot.cabinet_id != cabinet_id:
            return
        threshold = battery.slot.cabinet.full_threshold_pct
        if status == BatteryStatus.FULL:
            if battery.status != BatteryStatus.CHARGING or battery.soc_pct < threshold:
                return
        elif (battery.status != BatteryStatus.FULL
              or battery.soc_pct >= threshold - FULL_HYSTERESIS_PCT):
            return
        dispatch.battery_status_in_slot(battery=battery, status=status, at=timezone.now())


# QoS 1 redeliveries come within seconds and a cabinet's offline queue within days: a week
# of message ids is a dedup window wider than either.
DEDUP_WINDOW = timedelta(days=7)
REJECTIONS_KEPT = timedelta(days=90)


def device_messages_prune() -> int:
    """Drop dedup rows older than the window, in slices (the table is large), and old
    rejections (the nightly job)."""
    limit = timezone.now() - DEDUP_WINDOW
    deleted = 0
    while True:
        ids = list(DeviceMessage.objects.filter(received_at__lt=limit)
                   .values_list("id", flat=True)[:10000])
        if not ids:
            break
        deleted += DeviceMessage.objects.filter(id__in=ids).delete()[0]
    IngestRejection.objects.filter(received_at__lt=timezone.now() - REJECTIONS_KEPT).delete()
    return deleted

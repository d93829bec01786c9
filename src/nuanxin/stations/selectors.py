"""Reads of stations: the public nearby search, details, and staff-scoped lists."""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import sys
import threading
import weakref
from array import array
from bisect import insort
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from time import monotonic as time_monotonic
from time import sleep
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from h3 import H3BaseException
from h3.api import basic_int as h3_int

from nuanxin.common.errors import NotFound
from nuanxin.geo.spatial import (
    BOUND_SLACK_M,
    CELL_GEOMETRY,
    EARTH_RADIUS_M,
    cell_geometry,
    cell_int_of,
    haversine_rad_m,
)
from nuanxin.stations.models import (
    CheckIn,
    HolidayCampaign,
    OpeningSpan,
    ScheduleException,
    Station,
    StationChange,
    StationIndexVersion,
    StationType,
)
from nuanxin.stations.schedule import Schedule, Status, status_at

logger = logging.getLogger(__name__)
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
# Past this many rings the disk is wider than a city; a bounding-box scan is cheaper then.
MAX_RINGS = 40


def local_now() -> datetime:
    return timezone.now().astimezone(LOCAL_TZ).replace(tzinfo=None)


def station_get_public(station_id: int) -> Station:
    station = (
        Station.objects.filter(pk=station_id, is_active=True)
        .select_related("region")
        .prefetch_related("spans", "photos")
        .first()
    )
    if station is None:
        raise NotFound("station_not_found", _("找不到这个服务阵地。"))
    return station


def stations_named(names) -> dict[str, Station]:
    """Stations by name: other apps' demo seeders put their things beside the named stations."""
    return {s.name: s for s in Station.objects.filter(name__in=set(names))}


def schedules_for(station_ids: list[int]) -> dict[int, Schedule]:
    """Build schedules for many stations in three queries."""
    schedules = {sid: Schedule() for sid in station_ids}
    if not station_ids:
        return schedules
    today = local_now().date()
    for sid, weekday, opens, closes in OpeningSpan.objects.filter(
        station_id__in=station_ids
    ).values_list("station_id", "weekday", "opens", "closes"):
        schedules[sid].weekly.setdefault(weekday, []).append((opens, closes))
    for sid, day, closed, opens, closes in ScheduleException.objects.filter(
        station_id__in=station_ids, date__gte=today - timedelta(days=1)
    ).values_list("station_id", "date", "closed", "opens", "closes"):
        spans = schedules[sid].exceptions.setdefault(day, [])
        if not closed:
            spans.append((opens, closes))
    through = HolidayCampaign.stations.through
    for sid, starts_on, ends_on, opens, closes in through.objects.filter(
        station_id__in=station_ids, holidaycampaign__ends_on__gte=today - timedelta(days=1)
    ).values_list(
        "station_id",
        "holidaycampaign__starts_on",
        "holidaycampaign__ends_on",
        "holidaycampaign__opens",
        "holidaycampaign__closes",
    ):
        schedules[sid].campaigns.append((starts_on, ends_on, (opens, closes)))
    return schedules


def schedule_of(station: Station) -> Schedule:
    return schedules_for([station.pk])[station.pk]


@dataclass(eq=False, slots=True)
class IndexedStation:
    """A search result's station, as the index held it when the search ran."""

    id: int
    name: str
    type: str
    lat: float
    lng: float
    amenity_bits: int
    schedule: Schedule
    # Presenters may remember what they derive from the fields above (e.g. JSON pieces);
    # the dict lives in the index until the station changes (or the bounded store is full).
    memo: dict = field(repr=False, compare=False)


class Hours:
    """One distinct schedule, shared by every station that has it (most stations share a
    handful of weekly patterns), with its opening status remembered."""

    __slots__ = ("schedule", "_status", "__weakref__")

    def __init__(self, schedule: Schedule):
        self.schedule = schedule
        # (valid from, valid until, status): see status_at.
        self._status: tuple[datetime, datetime, Status] | None = None

    def status_at(self, now: datetime) -> Status:
        """`schedule.status_at(self.schedule, now)`, remembered while it cannot change.

        The answer computed at t holds for every moment from t up to its next_change on the
        same day: open stays open until the interval's end, closed stays closed until the
        next start, and the look-ahead horizon only moves at midnight."""
        cached = self._status
        if cached is not None and cached[0] <= now < cached[1]:
            return cached[2]
        status = status_at(self.schedule, now)
        until = datetime.combine(now.date() + timedelta(days=1), time())
        if status.next_change is not None and status.next_change < until:
            until = status.next_change
        self._status = (now, until, status)
        return status


# (weekly (weekday, opens, closes)..., exceptions (date, closed, opens, closes)...,
#  campaigns (starts_on, ends_on, opens, closes)...) -> the shared Hours. Weak values: a
# schedule no station has any more goes away, so edits do not grow the table.
_HoursKey = tuple[tuple, tuple, tuple]
_HOURS: weakref.WeakValueDictionary[_HoursKey, Hours] = weakref.WeakValueDictionary()
_hours_lock = threading.Lock()


def _hours_for(key: _HoursKey) -> Hours:
    hours = _HOURS.get(key)
    if hours is None:
        schedule = Schedule()
        for weekday, opens, closes in key[0]:
            schedule.weekly.setdefault(weekday, []).append((opens, closes))
        for day, closed, opens, closes in key[1]:
            spans = schedule.exceptions.setdefault(day, [])
            if not closed:
                spans.append((opens, closes))
        for starts_on, ends_on, opens, closes in key[2]:
            schedule.campaigns.append((starts_on, ends_on, (opens, closes)))
        with _hours_lock:
            hours = _HOURS.setdefault(key, Hours(schedule))
    return hours


_NO_HOURS: _HoursKey = ((), (), ())


_background = threading.local()


def _gently(rows):
    """`rows` (a queryset: streamed), pausing for half a millisecond every 256 rows when
    read by the background thread: a CPU-bound thread keeps the interpreter lock up to
    5 ms at a time, which would add that to every step of the requests it runs beside."""
    if not getattr(_background, "on", False):
        yield from rows
        return
    if isinstance(rows, QuerySet):
        rows = rows.iterator(chunk_size=2000)
    for n, row in enumerate(rows):
        if not n & 255:
            sleep(0.0005)
        yield row


def _hours_keys(**station_filter) -> dict[int, _HoursKey]:
    """The schedule key of every station matching `station_filter` (on station_id) that
    has any hours, in three queries; the same rules as `schedules_for`."""
    today = local_now().date()
    weekly: dict[int, list] = defaultdict(list)
    for sid, *span in _gently(OpeningSpan.objects.filter(**station_filter).order_by(
            "station_id", "weekday", "opens", "closes").values_list(
            "station_id", "weekday", "opens", "closes")):
        weekly[sid].append(tuple(span))
    exceptions: dict[int, list] = defaultdict(list)
    for sid, *row in _gently(ScheduleException.objects.filter(
            date__gte=today - timedelta(days=1), **station_filter).order_by(
            "station_id", "date", "opens").values_list(
            "station_id", "date", "closed", "opens", "closes")):
        exceptions[sid].append(tuple(row))
    campaigns: dict[int, list] = defaultdict(list)
    through = HolidayCampaign.stations.through
    for sid, *row in _gently(through.objects.filter(
            holidaycampaign__ends_on__gte=today - timedelta(days=1), **station_filter
    ).order_by("station_id", "holidaycampaign__starts_on", "holidaycampaign_id").values_list(
            "station_id", "holidaycampaign__starts_on", "holidaycampaign__ends_on",
            "holidaycampaign__opens", "holidaycampaign__closes")):
        campaigns[sid].append(tuple(row))
    return {sid: (tuple(weekly.get(sid, ())), tuple(exceptions.get(sid, ())),
                  tuple(campaigns.get(sid, ())))
            for sid in weekly.keys() | exceptions.keys() | campaigns.keys()}


# Per cell a query starts from, the index remembers the NEIGHBOURS stations nearest to the
# cell's centre (within NEIGHBOURS_RADIUS_M), for at most NEIGHBOUR_CELLS cells (~2 KB
# each). Enough for a limit of 50 or an amenity one station in four has, in a city.
NEIGHBOURS = 128
NEIGHBOURS_RADIUS_M = 30_000
NEIGHBOUR_CELLS = 10_000
# Stations whose presenter pieces (memo) are kept at once.
MEMO_STATIONS = 20_000
# Stations read per query when loading the whole index (bounds the memory a load borrows).
LOAD_CHUNK = 5_000
# Stations read per query by id: reading the hours of 10,000 stations 5,000 ids a query
# held the interpreter lock for 90-100 ms at a time (every request of the process waited),
# 500 ids a query for under 10 ms, in half the time (PostgreSQL, 220,000 stations).
READ_CHUNK = 500

# (distances from a cell's centre, ascending; the stations' slots in that order; a
# distance from the centre that no unlisted station is closer than)
_Neighbours = tuple[array, array, float]
_Row = tuple[int, str, str, float, float, int, bool]  # id, name, type, lat, lng, bits, active
_ROW_FIELDS = ("id", "name", "type", "lat", "lng", "amenity_bits", "is_active")


class NearbyIndex:
    """Active stations grouped by H3 cell, held per process, in packed arrays by slot
    (a slot is a station's position in the arrays; a removed station's slot is reused).

    It reflects the station data at `version` and is brought forward in place, station by
    station, from the change log (`apply`). Readers do not lock: `generation` is odd while
    an update runs and moves on each update, and a search that saw it move is repeated
    (see stations_nearby), so every answer comes from one consistent version.
    """

    def __init__(self, version: int):
        self.version = version
        self.generation = 0
        # Re-entrant: a search run under it (see stations_nearby) may store a cell list.
        self.write_lock = threading.RLock()
        self.ids = array("q")
        self.lats = array("d")
        self.lngs = array("d")
        self.coords = array("d")  # latitude rad, longitude rad, cos latitude; 3 per slot
        self.bits = array("q")
        self.cell_ids = array("q")
        self.names: list[str] = []
        self.types: list[str] = []
        self.hours: list[Hours | None] = []
        self.slot_of: dict[int, int] = {}
        self.free: list[int] = []
        self.cells: dict[int, array] = {}  # H3 cell -> slots
        # Every amenity some station of the cell has: a filter skips whole cells.
        self.cell_bits: dict[int, int] = {}
        # Per cell searched from: its nearest stations (see _neighbours).
        self.neighbours: dict[int, _Neighbours | None] = {}
        self.memos: dict[int, dict] = {}

    def __len__(self) -> int:
        return len(self.slot_of)

    @classmethod
    def load(cls, version: int) -> NearbyIndex:
        """Every active station, read in chunks of LOAD_CHUNK by id."""
        index = cls(version)
        after = 0
        while True:
            rows = list(_gently(Station.objects.filter(is_active=True, pk__gt=after)
                                .order_by("pk").values_list(*_ROW_FIELDS)[:LOAD_CHUNK]))
            if not rows:
                return index
            keys = _hours_keys(station_id__gt=after, station_id__lte=rows[-1][0])
            for row in _gently(rows):
                index._add(row, _hours_for(keys.get(row[0], _NO_HOURS)))
            after = rows[-1][0]

    def _add(self, row: _Row, hours: Hours) -> int:
        sid, name, kind, lat, lng, bits, _active = row
        cell = cell_int_of(lat, lng)
        p = math.radians(lat)
        if self.free:
            slot = self.free.pop()
            self.ids[slot], self.lats[slot], self.lngs[slot] = sid, lat, lng
            self.coords[3 * slot:3 * slot + 3] = array("d", (p, math.radians(lng), math.cos(p)))
            self.bits[slot], self.cell_ids[slot] = bits, cell
            self.names[slot], self.types[slot], self.hours[slot] = name, _TYPES.get(kind,
                                                                                     kind), hours
        else:
            slot = len(self.ids)
            self.ids.append(sid)
            self.lats.append(lat)
            self.lngs.append(lng)
            self.coords.extend((p, math.radians(lng), math.cos(p)))
            self.bits.append(bits)
            self.cell_ids.append(cell)
            self.names.append(name)
            self.types.append(_TYPES.get(kind, kind))
            self.hours.append(hours)
        self.slot_of[sid] = slot
        slots = self.cells.get(cell)
        if slots is None:
            self.cells[cell] = array("l", (slot,))
        else:
            slots.append(slot)
        self.cell_bits[cell] = self.cell_bits.get(cell, 0) | bits
        return slot

    def _remove(self, slot: int) -> None:
        cell = self.cell_ids[slot]
        slots = self.cells[cell]
        slots.remove(slot)
        if slots:
            self._recount_bits(cell)
        else:
            del self.cells[cell], self.cell_bits[cell]
        del self.slot_of[self.ids[slot]]
        self.ids[slot] = 0
        self.names[slot] = ""
        self.hours[slot] = None
        self.memos.pop(slot, None)
        self.free.append(slot)

    def _recount_bits(self, cell: int) -> None:
        bits = 0
        for slot in self.cells[cell]:
            bits |= self.bits[slot]
        self.cell_bits[cell] = bits

    def apply(self, version: int, station_ids, rows: dict[int, _Row],
              hours: dict[int, Hours]) -> None:
        """Bring the index to `version`: each of `station_ids` becomes its row in `rows`
        (absent or inactive: removed). Stations that keep their place keep their slot, so
        the cells' nearest-station lists stay valid; lists a station entered or left are
        dropped (rebuilt by the next search from that cell)."""
        with self.write_lock:
            self.generation += 1
            try:
                moved: list[tuple[float, float, float]] = []
                for sid in station_ids:
                    row = rows.get(sid)
                    slot = self.slot_of.get(sid)
                    if slot is not None and row is not None and row[6] \
                            and (self.lats[slot], self.lngs[slot]) == (row[3], row[4]):
                        lost = self.bits[slot] & ~row[5]
                        self.names[slot], self.types[slot] = row[1], _TYPES.get(row[2],
                                                                                row[2])
                        self.bits[slot], self.hours[slot] = row[5], hours[sid]
                        self.memos.pop(slot, None)
                        cell = self.cell_ids[slot]
                        if lost:
                            self._recount_bits(cell)
                        else:
                            self.cell_bits[cell] |= row[5]
                        continue
                    if slot is not None:
                        moved.append(tuple(self.coords[3 * slot:3 * slot + 3]))
                        self._remove(slot)
                    if row is not None and row[6]:
                        slot = self._add(row, hours[sid])
                        moved.append(tuple(self.coords[3 * slot:3 * slot + 3]))
                self._forget_neighbours(moved)
                self.version = version
            except BaseException:
                self.version = -1  # half-applied: no epoch matches, the next request reloads
                raise
            finally:
                self.generation += 1

    def _forget_neighbours(self, points: list[tuple[float, float, float]]) -> None:
        """Drop the nearest-station lists a station entered or left at `points`."""
        if not points:
            return
        if len(points) * len(self.neighbours) > 200_000:
            self.neighbours.clear()
            return
        for origin, listed in list(self.neighbours.items()):
            if listed is None:
                continue
            cp, cl, cc, _reach = cell_geometry(origin)
            reach = listed[2] + BOUND_SLACK_M
            if any(haversine_rad_m(cp, cl, cc, *point) <= reach for point in points):
                del self.neighbours[origin]

    def station(self, slot: int) -> IndexedStation:
        memos = self.memos
        memo = memos.get(slot)
        if memo is None:
            if len(memos) >= MEMO_STATIONS:
                memos.clear()
            memo = memos[slot] = {}
        return IndexedStation(self.ids[slot], self.names[slot], self.types[slot],
                              self.lats[slot], self.lngs[slot], self.bits[slot],
                              self.hours[slot].schedule, memo)


_TYPES = {t: sys.intern(t) for t in StationType.values}


_index: NearbyIndex | None = None
_index_lock = threading.Lock()


def _version_sql(db) -> str:
    table = db.ops.quote_name(StationIndexVersion._meta.db_table)
    return f"SELECT version FROM {table} WHERE id = 1"  # noqa: S608 - a model's own table


class _SqliteVersionReader(threading.local):
    """A small read-only SQLite connection per thread, kept open, for the version check.

    On SQLite Django opens and closes a connection per request (CONN_MAX_AGE=0), which
    costs more than the whole search; a public nearby request needs nothing else from the
    database, so it reads the counter here (autocommit: every read sees the last commit).
    """

    connection: sqlite3.Connection | None = None
    key: tuple | None = None
    sql: str = ""
    path: str = ""
    checked_at: float = -1.0

    def read(self, db) -> int | None:
        path = db.settings_dict["NAME"]
        now = time_monotonic()
        if path != self.path or now - self.checked_at > 1.0:
            # Is it still the same file (not deleted and created anew)? Once a second.
            try:
                st = os.stat(path)
            except (OSError, TypeError, ValueError):
                return None
            key = (os.getpid(), path, st.st_dev, st.st_ino)
            self.path, self.checked_at = path, now
        else:
            key = self.key
        try:
            if self.key != key:
                if self.connection is not None:
                    self.connection.close()
                self.connection = self.key = None
                if db.is_in_memory_db():
                    return None
                self.sql = _version_sql(db)
                self.connection = sqlite3.connect(path, timeout=20, isolation_level=None,
                                                  check_same_thread=False)
                self.connection.execute("PRAGMA query_only=ON")
                self.key = key
            # fetchall steps the statement to its end, so no read transaction stays open.
            rows = self.connection.execute(self.sql).fetchall()
        except sqlite3.Error:
            self.connection = self.key = None
            self.path = ""
            return None
        return rows[0][0] if rows else 0


_sqlite_version = _SqliteVersionReader()


def _postgresql_version(db) -> int | None:
    """The counter read straight through libpq on Django's (persistent) connection: a
    Django cursor costs ~10x the CPU of the query itself. Outside a transaction it runs as
    a statement prepared once per connection (planned once: half the server's work), where
    a failure (say, a pooler that forgot it) aborts nothing and the plain query follows. In
    a transaction the plain query is part of it. Anything unusual (an aborted transaction,
    an error) returns None and the caller takes the ordinary path, which raises as Django
    does."""
    db.ensure_connection()
    pgconn = getattr(db.connection, "pgconn", None)
    if pgconn is None:
        return None
    sql = _PG_VERSION_SQL.get(db.alias)
    if sql is None:
        sql = _PG_VERSION_SQL[db.alias] = _version_sql(db).encode()
    if pgconn.transaction_status == _PG_IDLE:
        if (_pg_prepared.get(db) is not pgconn
                and pgconn.prepare(_PG_STATEMENT, sql).status == _COMMAND_OK):
            _pg_prepared[db] = pgconn
        if _pg_prepared.get(db) is pgconn:
            result = pgconn.exec_prepared(_PG_STATEMENT, [])
            if result.status == _TUPLES_OK:
                return int(result.get_value(0, 0)) if result.ntuples else 0
            _pg_prepared.pop(db, None)
    result = pgconn.exec_(sql)
    if result.status != _TUPLES_OK:
        return None
    return int(result.get_value(0, 0)) if result.ntuples else 0


_PG_VERSION_SQL: dict[str, bytes] = {}
_PG_STATEMENT = b"nuanxin_station_index_version"
_pg_prepared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # db -> pgconn
try:
    from psycopg.pq import ExecStatus, TransactionStatus

    _TUPLES_OK, _COMMAND_OK = ExecStatus.TUPLES_OK, ExecStatus.COMMAND_OK
    _PG_IDLE = TransactionStatus.IDLE
except ImportError:  # no psycopg: no PostgreSQL either
    _TUPLES_OK = _COMMAND_OK = _PG_IDLE = None


def current_index_version(db=None) -> int:
    """The station index counter, as committed (or as written by this thread's open
    transaction). `db`: the connection to use, default the default database's."""
    db = db or connections[DEFAULT_DB_ALIAS]
    if db.vendor == "sqlite" and db.connection is None and not db.in_atomic_block:
        version = _sqlite_version.read(db)
        if version is not None:
            return version
    if db.vendor == "postgresql":
        version = _postgresql_version(db)
        if version is not None:
            return version
    # A raw cursor: one primary-key read per search, without the ORM's query building.
    with db.cursor() as cursor:
        cursor.execute(_version_sql(db))
        row = cursor.fetchone()
    return row[0] if row else 0


# A process applies at most this many changed stations at once on the request that finds
# them (a few milliseconds); more, or a bulk change, rebuild in the background.
SYNC_CHANGES = 256
# More changed stations than this are not worth reading one by one: a new index is loaded.
BACKGROUND_CHANGES = 50_000


def epoch_of(version: int) -> int:
    return version >> 32


class _Rebuild:
    """The one background rebuild of this process: while it runs, requests are answered
    from the current index, exact for its version (up to `stale_until`)."""

    thread: threading.Thread | None = None
    stale_until: int | None = None  # versions known to wait for the rebuild


_rebuild = _Rebuild()
_private = threading.local()  # an index built inside a transaction, for that transaction


def _changes_since(version: int, db, limit: int | None = None) -> list[tuple]:
    """(seq, station id, packed station ids) of the versions after `version`, oldest
    first; at most `limit` rows."""
    table = db.ops.quote_name(StationChange._meta.db_table)
    sql = f"SELECT seq, station_pk, station_pks FROM {table} WHERE seq > %s ORDER BY seq"  # noqa: S608
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    with db.cursor() as cursor:
        cursor.execute(sql, [version])
        return cursor.fetchall()


def _changed_ids(since: int, version: int, changes: list[tuple]) -> tuple[list[int], int] | None:
    """The stations changed after `since` and the last version listed, or None when the
    log cannot say (a gap: rows pruned; or a change of unknown stations)."""
    if not changes or changes[0][0] != since + 1 or changes[-1][0] < version:
        return None
    ids: set[int] = set()
    for _seq, sid, packed in changes:
        if sid is not None:
            ids.add(sid)
        elif packed:
            ids.update(int(i) for i in packed.split(","))
        else:
            return None
    return sorted(ids), changes[-1][0]


def _read_stations(ids: list[int]) -> tuple[dict[int, _Row], dict[int, Hours]]:
    """The index rows and hours of `ids` as committed now (read after the log: at least
    as new as the versions applied; a later change to one of them is applied again by its
    own version, with the same result)."""
    rows: dict[int, _Row] = {}
    hours: dict[int, Hours] = {}
    for at in range(0, len(ids), READ_CHUNK):
        chunk = ids[at:at + READ_CHUNK]
        found = [row[0] for row in _gently(
            Station.objects.filter(pk__in=chunk).values_list(*_ROW_FIELDS))
            if rows.setdefault(row[0], row)]
        # Schedule keys turned into the shared Hours chunk by chunk: holding 10,000
        # stations' keys at once left Python's allocator 24 MB larger for good (its arenas
        # stay mapped while any object in them lives).
        keys = _hours_keys(station_id__in=chunk)
        hours.update((sid, _hours_for(keys.get(sid, _NO_HOURS))) for sid in found)
    return rows, hours


def _catch_up(index: NearbyIndex, version: int, db) -> bool:
    """Apply the changes between the index's version and `version` in place, when they
    are few; False when they must be applied (or the index rebuilt) in the background."""
    changes = _changes_since(index.version, db, limit=SYNC_CHANGES + 1)
    if len(changes) > SYNC_CHANGES:
        return False
    changed = _changed_ids(index.version, version, changes)
    if changed is None or len(changed[0]) > SYNC_CHANGES:
        return False
    ids, last = changed
    rows, hours = _read_stations(ids)
    index.apply(last, ids, rows, hours)
    return True


def _start_rebuild(version: int) -> None:
    """Bring the index forward in a thread of its own; requests keep the current one,
    as it is, meanwhile. Called with _index_lock held."""
    _rebuild.stale_until = max(version, _rebuild.stale_until or version)
    if _rebuild.thread is not None and _rebuild.thread.is_alive():
        return
    _rebuild.thread = threading.Thread(target=_rebuild_run, name="nearby-index-rebuild",
                                       daemon=True)
    _rebuild.thread.start()


def _rebuild_run() -> None:
    """Stations the log lists (a campaign, an import: thousands) are read here and applied
    in one step (readers wait for that step only: ~20 ms for 10,000 stations); when the
    log cannot say which stations changed, or they are a third of the index or more, a
    new index is loaded and swapped in."""
    global _index
    _background.on = True
    try:
        db = connections[DEFAULT_DB_ALIAS]
        version = current_index_version(db)
        index = _index
        changed = None
        if index is not None and epoch_of(index.version) == epoch_of(version):
            changed = _changed_ids(index.version, version, _changes_since(index.version, db))
        # Reading stations by id costs about twice as much per station as loading them all.
        if changed is not None and len(changed[0]) <= min(BACKGROUND_CHANGES, len(index) // 3):
            ids, last = changed
            rows, hours = _read_stations(ids)
            with _index_lock:
                if _index is index:
                    index.apply(last, ids, rows, hours)
                _rebuild.stale_until = None
            return
        logger.info("nearby index: loading a new one in the background (at %s, now %s: %s)",
                    index and index.version, version,
                    "the log cannot say" if changed is None else f"{len(changed[0])} changed")
        fresh = NearbyIndex.load(version)
        with _index_lock:
            current = _index
            if current is None or epoch_of(current.version) != epoch_of(fresh.version) \
                    or current.version <= fresh.version:
                _index = fresh
            _rebuild.stale_until = None
    except Exception:  # the next request that finds the index behind starts another
        logger.exception("bringing the nearby index forward failed")
        with _index_lock:
            _rebuild.stale_until = None
    finally:
        connections.close_all()


def wait_for_rebuild(timeout: float | None = None) -> None:
    """Wait for a background rebuild of this process to finish (tests, benchmarks)."""
    thread = _rebuild.thread
    if thread is not None:
        thread.join(timeout)


def nearby_index() -> NearbyIndex:
    """The index for this request.

    Outside a transaction (every request of the server): the process's index, brought to
    the committed version first when only a few stations changed since; after a bulk
    change (or when this process fell behind the log) the current index keeps answering,
    exact for its version, while a new one is built in the background. Only a process
    without an index, or whose database was emptied and started again (a new epoch),
    loads one before answering.

    Inside a transaction (tests, scripts): an index that may hold this transaction's
    uncommitted writes serves only that transaction; the shared one never does."""
    global _index
    db = connections[DEFAULT_DB_ALIAS]
    version = current_index_version(db)
    index = _index
    if index is not None and index.version == version:
        return index
    if db.in_atomic_block:
        token = db.atomic_blocks[0]
        private = getattr(_private, "index", None)
        if private is None or private[0] is not token or private[1].version != version:
            private = _private.index = (token, NearbyIndex.load(version))
        return private[1]
    if index is not None and _rebuild.stale_until is not None \
            and epoch_of(version) == epoch_of(index.version) \
            and index.version < version <= _rebuild.stale_until:
        return index
    with _index_lock:
        index = _index
        if index is not None and version < index.version \
                and epoch_of(version) == epoch_of(index.version):
            # Another thread brought the index past the version this one read: it is newer,
            # not wrong. (Reloading here cost a whole load per race and left two indexes
            # in memory at once.) Only a database put back to an earlier state reads
            # lower still.
            version = current_index_version(db)
        if index is not None and index.version == version:
            return index
        if index is None or epoch_of(index.version) != epoch_of(version) \
                or version < index.version:
            logger.info("nearby index: loading (%s) before answering",
                        "first use" if index is None else f"at {index.version}, now {version}")
            index = _index = NearbyIndex.load(version)
            return index
        if _rebuild.stale_until is None and _catch_up(index, version, db):
            return index
        _start_rebuild(version)
        return index


class NearbyHit(NamedTuple):
    station: IndexedStation
    distance_m: float
    status: Status


# (origin cell, k) -> ring k of cells around the origin, and per cell a lower bound on the
# distance from the origin cell's centre to any point of that cell (centre distance minus
# the cell's reach, minus slack), and the smallest of those. Geometry never changes; the
# cache is bounded.
_Ring = tuple[tuple[int, ...], tuple[float, ...], float]
_RINGS: dict[tuple[int, int], _Ring] = {}
_RINGS_MAX = 50_000


def _ring(origin: int, k: int) -> _Ring:
    key = (origin, k)
    ring = _RINGS.get(key)
    if ring is None:
        cells = tuple(h3_int.grid_ring(origin, k)) if k else (origin,)
        op, ol, oc, _reach = cell_geometry(origin)
        offsets = []
        for cell in cells:
            cp, cl, cc, reach = cell_geometry(cell)
            offsets.append(haversine_rad_m(op, ol, oc, cp, cl, cc) - reach - BOUND_SLACK_M)
        ring = (cells, tuple(offsets), min(offsets))
        if len(_RINGS) >= _RINGS_MAX:
            _RINGS.clear()
        _RINGS[key] = ring
    return ring


def _scan(index: NearbyIndex, cells, p1: float, l1: float, c1: float, radius_m: float,
          required_bits: int, out: list) -> None:
    """Append (distance, id, slot) for every matching station of `cells` within
    radius. The distance is `haversine_rad_m` written out (same operations, same order)."""
    sin, asin, sqrt = math.sin, math.asin, math.sqrt
    diameter = 2 * EARTH_RADIUS_M
    slots_of = index.cells.get
    coords, bits_of, ids = index.coords, index.bits, index.ids
    for cell in cells:
        slots = slots_of(cell)
        if slots is None:
            continue
        for k in slots:
            if bits_of[k] & required_bits != required_bits:
                continue
            j = 3 * k
            p2, l2, c2 = coords[j], coords[j + 1], coords[j + 2]
            a = sin((p2 - p1) / 2) ** 2 + c1 * c2 * sin((l2 - l1) / 2) ** 2
            distance = diameter * asin(min(1.0, sqrt(a)))
            if distance <= radius_m:
                out.append((distance, ids[k], k))


def _kth_distance(index: NearbyIndex, candidates: list, limit: int, open_now: bool,
                  now: datetime) -> float:
    """Sort `candidates` and give the distance of the `limit`-th that qualifies (inf when
    fewer qualify)."""
    candidates.sort()
    if not open_now:
        return candidates[limit - 1][0] if len(candidates) >= limit else math.inf
    count = 0
    hours = index.hours
    for distance, _sid, slot in candidates:
        if hours[slot].status_at(now).open_now:
            count += 1
            if count == limit:
                return distance
    return math.inf


def _ring_search(index: NearbyIndex, origin: int, p1: float, l1: float, c1: float,
                 limit: int, radius_m: float, required_bits: int, open_now: bool,
                 now: datetime | None, out: list) -> bool:
    """Search rings of cells outward until no unsearched station can enter the answer.
    False when the rings run out (MAX_RINGS) or H3 cannot walk them (pentagons).

    With d0 the query point's distance to the origin cell's centre and off(c) a lower
    bound on the distance from that centre to cell c, the triangle inequality bounds the
    distance from the query point to any point of c: off(c) - d0 <= lb(c) <= off(c) + d0
    where lb(c) = distance to c's centre minus c's reach. Anything outside the rings
    searched so far is at least min lb(c) over the next ring away (any path to it crosses
    that ring). "target" is what a station must beat: the radius, and once `limit`
    qualifying candidates are known, the limit-th one's distance.
    """
    op, ol, oc, _reach = cell_geometry(origin)
    d0 = haversine_rad_m(p1, l1, c1, op, ol, oc)
    stations_of, bits_of = index.cells, index.cell_bits
    geometry, sin, asin, sqrt = CELL_GEOMETRY.get, math.sin, math.asin, math.sqrt
    diameter = 2 * EARTH_RADIUS_M
    _scan(index, (origin,), p1, l1, c1, radius_m, required_bits, out)
    kth, counted = math.inf, 0
    for k in range(1, MAX_RINGS + 2):
        if len(out) >= limit and len(out) != counted:
            kth, counted = _kth_distance(index, out, limit, open_now, now), len(out)
        target = min(radius_m, kth)
        cells, offsets, nearest = _ring(origin, k)
        if nearest - d0 > target:  # the whole ring (and all beyond) is out of reach
            return True
        # True once some cell of the ring is known to be within reach.
        exact = nearest + d0 <= target
        todo = []
        for cell, off in zip(cells, offsets, strict=True):
            if off - d0 > target:
                continue  # out of reach: neither scanned nor holding the bound down
            wanted = cell in stations_of and bits_of[cell] & required_bits == required_bits
            if off + d0 > target:
                # In between: the cell's own bound decides, if anything depends on it
                # (haversine_rad_m written out).
                if exact and not wanted:
                    continue
                cp, cl, cc, reach = geometry(cell) or cell_geometry(cell)
                a = sin((cp - p1) / 2) ** 2 + c1 * cc * sin((cl - l1) / 2) ** 2
                if diameter * asin(min(1.0, sqrt(a))) - reach - BOUND_SLACK_M > target:
                    continue
            exact = True  # this cell is within reach, so are places beyond the ring
            if wanted:
                todo.append(cell)
        if not exact:
            return True  # every cell of the ring is out of reach
        if k > MAX_RINGS:
            return False
        _scan(index, todo, p1, l1, c1, radius_m, required_bits, out)
    return False


def _neighbours(index: NearbyIndex, origin: int) -> _Neighbours | None:
    """The stations nearest to the origin cell's centre, found once by a ring search."""
    listed = index.neighbours.get(origin, False)
    if listed is False:
        generation = index.generation
        cp, cl, cc, _reach = cell_geometry(origin)
        found: list = []
        listed = None
        if _ring_search(index, origin, cp, cl, cc, NEIGHBOURS, NEIGHBOURS_RADIUS_M, 0,
                        False, None, found):
            found.sort()
            if len(found) >= NEIGHBOURS:
                # Unlisted stations are no closer than the last listed one (ties included).
                bound = found[NEIGHBOURS - 1][0]
                del found[NEIGHBOURS:]
            else:
                bound = NEIGHBOURS_RADIUS_M  # all within the radius are listed
            listed = (array("d", [f[0] for f in found]), array("l", [f[2] for f in found]),
                      bound)
        # Kept only if no update ran meanwhile (the update could not have dropped it).
        with index.write_lock:
            if index.generation == generation:
                if len(index.neighbours) >= NEIGHBOUR_CELLS:
                    index.neighbours.clear()
                index.neighbours[origin] = listed
    return listed


def _search_neighbours(index: NearbyIndex, listed: _Neighbours, d0: float, p1: float,
                       l1: float, c1: float, limit: int, radius_m: float, required_bits: int,
                       open_now: bool, now: datetime) -> list | None:
    """The answer from the origin cell's nearest stations, or None when they cannot prove
    it. A station at distance D from the origin cell's centre is at least D - d0 from the
    query point (d0: query point to centre), so stations are taken in order of D until
    D - d0 exceeds the radius and the limit-th qualifying distance found so far."""
    sin, asin, sqrt = math.sin, math.asin, math.sqrt
    diameter = 2 * EARTH_RADIUS_M
    coords, bits_of, ids, hours = index.coords, index.bits, index.ids, index.hours
    dists, slots, bound = listed
    best: list[tuple[float, int, int]] = []
    target = radius_m
    reach = d0 + BOUND_SLACK_M
    for at, centre_distance in enumerate(dists):
        if centre_distance - reach > target:
            return best  # listed ones further on are further; unlisted ones too (bound)
        k = slots[at]
        if required_bits and bits_of[k] & required_bits != required_bits:
            continue
        j = 3 * k
        p2, l2, c2 = coords[j], coords[j + 1], coords[j + 2]
        a = sin((p2 - p1) / 2) ** 2 + c1 * c2 * sin((l2 - l1) / 2) ** 2
        distance = diameter * asin(min(1.0, sqrt(a)))
        if distance > target:
            continue
        sid = ids[k]
        if len(best) == limit and (distance, sid) > best[-1][:2]:
            continue
        if open_now and not hours[k].status_at(now).open_now:
            continue
        insort(best, (distance, sid, k))
        if len(best) > limit:
            best.pop()
        if len(best) == limit:
            target = min(radius_m, best[-1][0])
    return best if bound - reach > target else None


def stations_nearby(
    *,
    lat: float,
    lng: float,
    limit: int,
    radius_m: float,
    required_bits: int = 0,
    open_now: bool = False,
    now: datetime | None = None,
) -> list[NearbyHit]:
    """The `limit` nearest active stations within `radius_m` that have every amenity of
    `required_bits` (and are open at `now`, with `open_now`), nearest first, ties by id.

    Exact, the same as scanning every station. First from the stations nearest to the
    query point's cell (remembered per cell); when those cannot prove the answer, rings
    of H3 cells are searched outward until a lower bound on the distance of anything
    unsearched proves no closer match can exist; past MAX_RINGS (or where H3 cannot walk
    rings) every station is scanned.
    """
    now = now or local_now()
    index = nearby_index()
    for _attempt in range(3):
        generation = index.generation
        if generation & 1:  # an update is running: wait for it
            with index.write_lock:
                continue
        try:
            hits = _search(index, lat, lng, limit, radius_m, required_bits, open_now, now)
        except Exception:
            if index.generation == generation:
                raise
            continue  # read across an update: not an answer
        if index.generation == generation:
            return hits
    with index.write_lock:  # updates keep coming: search between two of them
        return _search(index, lat, lng, limit, radius_m, required_bits, open_now, now)


def _search(index: NearbyIndex, lat: float, lng: float, limit: int, radius_m: float,
            required_bits: int, open_now: bool, now: datetime) -> list[NearbyHit]:
    p1 = math.radians(lat)
    l1, c1 = math.radians(lng), math.cos(p1)
    candidates: list[tuple[float, int, int]] | None = None
    try:
        origin = cell_int_of(lat, lng)
        listed = _neighbours(index, origin) if 2 * limit <= NEIGHBOURS else None
        if listed is not None:
            op, ol, oc, _reach = cell_geometry(origin)
            candidates = _search_neighbours(
                index, listed, haversine_rad_m(p1, l1, c1, op, ol, oc), p1, l1, c1, limit,
                radius_m, required_bits, open_now, now)
        if candidates is None:
            candidates = []
            if not _ring_search(index, origin, p1, l1, c1, limit, radius_m, required_bits,
                                open_now, now, candidates):
                candidates = None
    except (H3BaseException, ValueError):
        candidates = None
    if candidates is None:
        candidates = []
        _scan(index, index.cells, p1, l1, c1, radius_m, required_bits, candidates)
    candidates.sort()
    hits: list[NearbyHit] = []
    hours = index.hours
    for distance, _sid, slot in candidates:
        status = hours[slot].status_at(now)
        if open_now and not status.open_now:
            continue
        hits.append(NearbyHit(index.station(slot), distance, status))
        if len(hits) == limit:
            break
    return hits


def stations_active_for_geojson() -> QuerySet[Station]:
    return Station.objects.filter(is_active=True).only(
        "id", "name", "type", "lat", "lng", "amenity_bits", "address", "night_light"
    )


def stations_for_staff(user, *, search: str = "") -> QuerySet[Station]:
    today_start = timezone.now().astimezone(LOCAL_TZ).replace(hour=0, minute=0, second=0,
                                                              microsecond=0)
    qs = Station.objects.visible_to(user).select_related("region")
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(address__icontains=search))
    return qs.annotate(
        visits_today=Count("checkins", filter=Q(checkins__at__gte=today_start))
    ).order_by("region_id", "name")


def station_for_staff(user, station_id: int) -> Station:
    # Outside the viewer's region looks the same as not existing.
    return Station.objects.select_related("region").get_visible_or_404(user, pk=station_id)


def visits_today(station: Station) -> int:
    today_start = timezone.now().astimezone(LOCAL_TZ).replace(hour=0, minute=0, second=0,
                                                              microsecond=0)
    return CheckIn.objects.filter(station=station, at__gte=today_start).count()

"""Reads of stations: the public nearby search, details, and staff-scoped lists."""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import weakref
from array import array
from bisect import insort
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from time import monotonic as time_monotonic
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.db import DEFAULT_DB_ALIAS, connections, transaction
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
    StationIndexVersion,
)
from nuanxin.stations.schedule import Schedule, Status, status_at

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
    id: int
    name: str
    type: str
    lat: float
    lng: float
    amenity_bits: int
    schedule: Schedule
    # (valid from, valid until, status): see status_at.
    _status: tuple[datetime, datetime, Status] | None = field(
        default=None, repr=False, compare=False)
    # Presenters may remember what they derive from the fields above (e.g. JSON pieces);
    # it lives as long as this index entry, i.e. until the station changes.
    memo: dict = field(default_factory=dict, repr=False, compare=False)

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


# One entry per station inside a cell: what the distance loop needs, unpacked in one go.
# (latitude rad, longitude rad, cos latitude, amenity bits, id, station)
_Entry = tuple[float, float, float, int, int, IndexedStation]
# (distances from a cell's centre, ascending; the stations' slots in that order; a
# distance from the centre that no unlisted station is closer than)
_Neighbours = tuple[array, array, float]


class NearbyIndex:
    """Active stations grouped by H3 cell, held per process and rebuilt when the
    version counter in the database moves (every station write bumps it)."""

    def __init__(self, version: int, stations: list[IndexedStation]):
        self.version = version
        self.token: object | None = None  # see nearby_index
        self.stations = stations
        cells: dict[int, list[_Entry]] = defaultdict(list)
        cell_bits: dict[int, int] = defaultdict(int)
        for station in stations:
            cell = cell_int_of(station.lat, station.lng)
            p = math.radians(station.lat)
            cells[cell].append((p, math.radians(station.lng), math.cos(p),
                                station.amenity_bits, station.id, station))
            cell_bits[cell] |= station.amenity_bits
        self.cells: dict[int, tuple[_Entry, ...]] = {c: tuple(e) for c, e in cells.items()}
        # Every amenity some station of the cell has: a filter skips whole cells.
        self.cell_bits: dict[int, int] = dict(cell_bits)
        # The same per station, packed by slot (position in `stations`): the cell lists below
        # walk these contiguous arrays instead of objects spread over the heap, which makes
        # a difference once the rest of a request has pushed the index out of the CPU cache.
        self.slot_of: dict[int, int] = {s.id: k for k, s in enumerate(stations)}
        self.coords = array("d")  # latitude rad, longitude rad, cos latitude; 3 per slot
        for station in stations:
            p = math.radians(station.lat)
            self.coords.extend((p, math.radians(station.lng), math.cos(p)))
        self.bits = array("q", [s.amenity_bits for s in stations])
        self.ids = array("q", [s.id for s in stations])
        # Per cell searched from: its nearest stations (see _neighbours).
        self.neighbours: dict[int, _Neighbours | None] = {}

    @classmethod
    def load(cls, version: int) -> NearbyIndex:
        rows = list(
            Station.objects.filter(is_active=True).values_list(
                "id", "name", "type", "lat", "lng", "amenity_bits"
            )
        )
        schedules = schedules_for([r[0] for r in rows])
        return cls(version, [IndexedStation(*row, schedule=schedules[row[0]]) for row in rows])


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


def nearby_index() -> NearbyIndex:
    """The index for this request: the shared one when its version is current.

    An index built inside a transaction may hold that transaction's uncommitted writes,
    and after a rollback the counter goes back and may be reached again by other writes:
    such an index serves only its own transaction until that commits."""
    global _index
    db = connections[DEFAULT_DB_ALIAS]
    version = current_index_version(db)
    # The outermost open transaction of this thread's connection, or None.
    token = db.atomic_blocks[0] if db.in_atomic_block else None
    index = _index
    if index is None or index.version != version or (index.token is not None
                                                      and index.token is not token):
        with _index_lock:
            index = _index
            if index is None or index.version != version or (index.token is not None
                                                              and index.token is not token):
                index = NearbyIndex.load(version)
                index.token = token
                if token is not None:
                    transaction.on_commit(lambda built=index: setattr(built, "token", None))
                _index = index
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
    """Append (distance, id, station) for every matching station of `cells` within
    radius. The distance is `haversine_rad_m` written out (same operations, same order)."""
    sin, asin, sqrt = math.sin, math.asin, math.sqrt
    diameter = 2 * EARTH_RADIUS_M
    stations_of = index.cells.get
    for cell in cells:
        entries = stations_of(cell)
        if entries is None:
            continue
        for p2, l2, c2, bits, sid, station in entries:
            if bits & required_bits != required_bits:
                continue
            a = sin((p2 - p1) / 2) ** 2 + c1 * c2 * sin((l2 - l1) / 2) ** 2
            distance = diameter * asin(min(1.0, sqrt(a)))
            if distance <= radius_m:
                out.append((distance, sid, station))


def _kth_distance(candidates: list, limit: int, open_now: bool, now: datetime) -> float:
    """Sort `candidates` and give the distance of the `limit`-th that qualifies (inf when
    fewer qualify)."""
    candidates.sort()
    if not open_now:
        return candidates[limit - 1][0] if len(candidates) >= limit else math.inf
    count = 0
    for distance, _sid, station in candidates:
        if station.status_at(now).open_now:
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
            kth, counted = _kth_distance(out, limit, open_now, now), len(out)
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


# Per cell a query starts from, the index remembers the NEIGHBOURS stations nearest to the
# cell's centre (within NEIGHBOURS_RADIUS_M), for at most NEIGHBOUR_CELLS cells (~2 KB
# each). Enough for a limit of 50 or an amenity one station in four has, in a city.
NEIGHBOURS = 128
NEIGHBOURS_RADIUS_M = 30_000
NEIGHBOUR_CELLS = 10_000


def _neighbours(index: NearbyIndex, origin: int) -> _Neighbours | None:
    """The stations nearest to the origin cell's centre, found once by a ring search."""
    listed = index.neighbours.get(origin, False)
    if listed is False:
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
            slot_of = index.slot_of
            listed = (array("d", [f[0] for f in found]),
                      array("l", [slot_of[f[1]] for f in found]), bound)
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
    coords, bits_of, ids, stations = index.coords, index.bits, index.ids, index.stations
    dists, slots, bound = listed
    best: list[tuple[float, int, IndexedStation]] = []
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
        station = stations[k]
        if open_now and not station.status_at(now).open_now:
            continue
        insort(best, (distance, sid, station))
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
    p1 = math.radians(lat)
    l1, c1 = math.radians(lng), math.cos(p1)
    candidates: list[tuple[float, int, IndexedStation]] | None = None
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
    for distance, _sid, station in candidates:
        status = station.status_at(now)
        if open_now and not status.open_now:
            continue
        hits.append(NearbyHit(station, distance, status))
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
    station = Station.objects.visible_to(user).select_related("region").filter(
        pk=station_id
    ).first()
    if station is None:
        # Outside the viewer's region looks the same as not existing.
        raise NotFound("station_not_found", _("找不到这个服务阵地。"))
    return station


def visits_today(station: Station) -> int:
    today_start = timezone.now().astimezone(LOCAL_TZ).replace(hour=0, minute=0, second=0,
                                                              microsecond=0)
    return CheckIn.objects.filter(station=station, at__gte=today_start).count()

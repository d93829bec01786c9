"""Reads of stations: the public nearby search, details, and staff-scoped lists."""

from __future__ import annotations

import math
import os
import sqlite3
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from h3 import H3BaseException
from h3.api import basic_int as h3_int

from nuanxin.common.errors import NotFound
from nuanxin.geo.spatial import (
    BOUND_SLACK_M,
    EARTH_RADIUS_M,
    cell_geometry,
    cell_int_of,
    haversine_rad_m,
    ring_lower_bound_rad_m,
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
        station_id__in=station_ids, holidaycampaign__ends_on__gte=today
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


@dataclass(eq=False)
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
_VERSION_SQL = "SELECT version FROM {table} WHERE id = 1"


class _SqliteVersionReader(threading.local):
    """A small read-only SQLite connection per thread, kept open, for the version check.

    On SQLite Django opens and closes a connection per request (CONN_MAX_AGE=0), which
    costs more than the whole search; a public nearby request needs nothing else from the
    database, so it reads the counter here (autocommit: every read sees the last commit)."""

    connection: sqlite3.Connection | None = None
    key: tuple | None = None

    def read(self, path: str, table: str) -> int | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        key = (os.getpid(), path, st.st_dev, st.st_ino)  # a replaced file: reopen
        try:
            if self.connection is None or self.key != key:
                if self.connection is not None:
                    self.connection.close()
                self.connection = sqlite3.connect(path, timeout=20, isolation_level=None,
                                                  check_same_thread=False)
                self.connection.execute("PRAGMA query_only=ON")
                self.key = key
            # fetchall steps the statement to its end, so no read transaction stays open.
            rows = self.connection.execute(_VERSION_SQL.format(table=table)).fetchall()
        except sqlite3.Error:
            self.connection = self.key = None
            return None
        return rows[0][0] if rows else 0


_sqlite_version = _SqliteVersionReader()


def current_index_version() -> int:
    table = connection.ops.quote_name(StationIndexVersion._meta.db_table)
    if (connection.vendor == "sqlite" and connection.connection is None
            and not connection.in_atomic_block and not connection.is_in_memory_db()):
        version = _sqlite_version.read(str(connection.settings_dict["NAME"]), table)
        if version is not None:
            return version
    # A raw cursor: one primary-key read per search, without the ORM's query building.
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_SQL.format(table=table))
        row = cursor.fetchone()
    return row[0] if row else 0


def _transaction_token():
    """The outermost open transaction of this thread's connection, or None."""
    return connection.atomic_blocks[0] if connection.in_atomic_block else None


def nearby_index() -> NearbyIndex:
    """The index for this request: the shared one when its version is current.

    An index built inside a transaction may hold that transaction's uncommitted writes,
    and after a rollback the counter goes back and may be reached again by other writes:
    such an index serves only its own transaction until that commits."""
    global _index
    version = current_index_version()
    token = _transaction_token()
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


@dataclass(frozen=True)
class NearbyHit:
    station: IndexedStation
    distance_m: float
    status: Status


# (origin cell, k) -> (cells of ring k, a lower bound on the distance from the origin
# cell's centre to any point of the ring). Geometry never changes; the cache is bounded.
_RINGS: dict[tuple[int, int], tuple[tuple[int, ...], float]] = {}
_RINGS_MAX = 50_000


def _ring(origin: int, k: int) -> tuple[tuple[int, ...], float]:
    key = (origin, k)
    ring = _RINGS.get(key)
    if ring is None:
        cells = tuple(h3_int.grid_ring(origin, k)) if k else (origin,)
        op, ol, oc, _reach = cell_geometry(origin)
        bound = math.inf
        for cell in cells:
            cp, cl, cc, reach = cell_geometry(cell)
            bound = min(bound, haversine_rad_m(op, ol, oc, cp, cl, cc) - reach)
        ring = (cells, bound - BOUND_SLACK_M)
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
    stations_of, bits_of = index.cells.get, index.cell_bits
    for cell in cells:
        entries = stations_of(cell)
        if entries is None or bits_of[cell] & required_bits != required_bits:
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


def _ring_search(index: NearbyIndex, lat: float, lng: float, p1: float, l1: float,
                 c1: float, limit: int, radius_m: float, required_bits: int, open_now: bool,
                 now: datetime, out: list) -> bool:
    """Search rings of cells outward until no unsearched station can enter the answer.
    False when the rings run out (MAX_RINGS) or H3 cannot walk them (pentagons)."""
    origin = cell_int_of(lat, lng)
    op, ol, oc, _reach = cell_geometry(origin)
    d0 = haversine_rad_m(p1, l1, c1, op, ol, oc)  # query point to the origin's centre
    kth = math.inf
    for k in range(MAX_RINGS + 1):
        cells, _bound = _ring(origin, k)
        before = len(out)
        _scan(index, cells, p1, l1, c1, radius_m, required_bits, out)
        if len(out) >= limit and (len(out) != before or kth == math.inf):
            kth = _kth_distance(out, limit, open_now, now)
        # Everything unsearched lies in ring k+1 or beyond: stop when a lower bound on
        # its distance exceeds both the radius and the limit-th qualifying distance.
        target = min(radius_m, kth)
        next_cells, origin_bound = _ring(origin, k + 1)
        cheap = origin_bound - d0  # triangle inequality through the origin's centre
        if cheap > target:
            return True
        # The exact bound is at most 2·d0 above the cheap one: compute it only if it
        # can decide.
        if cheap + 2 * d0 + BOUND_SLACK_M > target and \
                ring_lower_bound_rad_m(p1, l1, c1, next_cells) > target:
            return True
    return False


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

    Exact, the same as scanning every station: rings of H3 cells are searched outward until
    a lower bound on the distance of anything unsearched proves no closer match can exist;
    past MAX_RINGS (or where H3 cannot walk rings) every station is scanned.
    """
    now = now or local_now()
    index = nearby_index()
    p1 = math.radians(lat)
    l1, c1 = math.radians(lng), math.cos(p1)
    candidates: list[tuple[float, int, IndexedStation]] = []
    try:
        complete = _ring_search(index, lat, lng, p1, l1, c1, limit, radius_m, required_bits,
                                open_now, now, candidates)
    except (H3BaseException, ValueError):
        complete = False
    if not complete:
        candidates.clear()
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

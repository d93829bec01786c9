"""Reads of stations: the public nearby search, details, and staff-scoped lists."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import h3
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nuanxin.common.errors import NotFound
from nuanxin.geo.spatial import H3_RESOLUTION, haversine_m, ring_lower_bound_m
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


@dataclass
class IndexedStation:
    id: int
    name: str
    type: str
    lat: float
    lng: float
    amenity_bits: int
    schedule: Schedule


class NearbyIndex:
    """Active stations grouped by H3 cell, held per process and rebuilt when the
    version counter in the database moves (every station write bumps it)."""

    def __init__(self, version: int, stations: list[IndexedStation]):
        self.version = version
        self.stations = stations
        self.by_cell: dict[str, list[IndexedStation]] = defaultdict(list)
        for station in stations:
            self.by_cell[h3.latlng_to_cell(station.lat, station.lng, H3_RESOLUTION)].append(
                station
            )

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


def current_index_version() -> int:
    return (
        StationIndexVersion.objects.filter(pk=1).values_list("version", flat=True).first() or 0
    )


def nearby_index() -> NearbyIndex:
    global _index
    version = current_index_version()
    if _index is None or _index.version != version:
        with _index_lock:
            if _index is None or _index.version != version:
                _index = NearbyIndex.load(version)
    return _index


@dataclass(frozen=True)
class NearbyHit:
    station: IndexedStation
    distance_m: float
    status: Status


def _matches(station: IndexedStation, required_bits: int) -> bool:
    return station.amenity_bits & required_bits == required_bits


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
    """The `limit` nearest active stations within `radius_m` that match, nearest first.

    Exact: rings of H3 cells are searched outward until a lower bound on the distance of
    anything unsearched proves no closer match can exist.
    """
    now = now or local_now()
    index = nearby_index()
    origin = h3.latlng_to_cell(lat, lng, H3_RESOLUTION)
    hits: list[NearbyHit] = []
    status_cache: dict[int, Status] = {}

    def consider(station: IndexedStation) -> None:
        if not _matches(station, required_bits):
            return
        distance = haversine_m(lat, lng, station.lat, station.lng)
        if distance > radius_m:
            return
        status = status_cache.get(station.id) or status_at(station.schedule, now)
        status_cache[station.id] = status
        if open_now and not status.open_now:
            return
        hits.append(NearbyHit(station, distance, status))

    k = 0
    searched_all = False
    while True:
        ring = [origin] if k == 0 else h3.grid_ring(origin, k)
        for cell in ring:
            for station in index.by_cell.get(cell, ()):
                consider(station)
        bound = ring_lower_bound_m(lat, lng, h3.grid_ring(origin, k + 1))
        if bound >= radius_m:
            break
        if len(hits) >= limit and sorted(h.distance_m for h in hits)[limit - 1] <= bound:
            break
        k += 1
        if k > MAX_RINGS:
            searched_all = True
            break
    if searched_all:
        hits = []
        status_cache.clear()
        for station in index.stations:
            consider(station)
    hits.sort(key=lambda h: (h.distance_m, h.station.id))
    return hits[:limit]


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

"""The platform's settings and URLs plus, for bench/nearby.py only, a PostGIS baseline:
GET /bench/postgis/nearby, the same query and the same JSON as /api/v1/stations/nearby,
answered by the database's spatial index. Never part of the platform.

    DJANGO_SETTINGS_MODULE=bench.nearby_server gunicorn nuanxin.wsgi:application

A tuned KNN endpoint: `ST_DWithin` + `ORDER BY geog <-> point` over a stored geography
column with a GiST index (added to the station table by `prepare_postgis`), the amenity
filter only when asked, and the hours in the same statement: the open-now filter as a SQL
function, each hit's week, dated exceptions and campaigns as arrays, turned into the same
open/next-change status as the platform's (stations.schedule.status_at).

The generated column, its index and the two SQL functions stay in the benchmark's database
(later runs reuse them); the platform never reads them.
"""

from __future__ import annotations

import ctypes
import os
import sys
from datetime import timedelta
from pathlib import Path

from nuanxin.settings import *  # noqa: F403 - the platform's settings, one setting changed

ROOT_URLCONF = __name__

POSTGIS_SQL = [
    "CREATE EXTENSION IF NOT EXISTS postgis",
    "ALTER TABLE stations_station ADD COLUMN IF NOT EXISTS bench_geog geography(Point, 4326) "
    "GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography) STORED",
    "CREATE INDEX IF NOT EXISTS bench_station_geog ON stations_station USING gist "
    "(bench_geog) WHERE is_active",
    """CREATE OR REPLACE FUNCTION bench_spans_on(sid bigint, day date)
    RETURNS TABLE(opens int, closes int) LANGUAGE sql STABLE AS $$
      WITH exc AS (SELECT e.closed, e.opens::int AS opens, e.closes::int AS closes
                   FROM stations_scheduleexception e WHERE e.station_id = sid AND e.date = day),
           camp AS (SELECT c.opens::int AS opens, c.closes::int AS closes
                    FROM stations_holidaycampaign_stations cs
                    JOIN stations_holidaycampaign c ON c.id = cs.holidaycampaign_id
                    WHERE cs.station_id = sid AND day BETWEEN c.starts_on AND c.ends_on
                    ORDER BY c.starts_on, c.id LIMIT 1)
      SELECT opens, closes FROM exc WHERE NOT closed
      UNION ALL SELECT opens, closes FROM camp WHERE NOT EXISTS (SELECT 1 FROM exc)
      UNION ALL SELECT o.opens::int, o.closes::int FROM stations_openingspan o
        WHERE o.station_id = sid AND o.weekday = extract(isodow FROM day)::int - 1
          AND NOT EXISTS (SELECT 1 FROM exc) AND NOT EXISTS (SELECT 1 FROM camp)
    $$""",
    """CREATE OR REPLACE FUNCTION bench_open_at(sid bigint, day date, m int)
    RETURNS boolean LANGUAGE sql STABLE AS $$
      SELECT EXISTS (SELECT 1 FROM bench_spans_on(sid, day) x
                     WHERE m >= x.opens AND (x.closes <= x.opens OR m < x.closes))
          OR EXISTS (SELECT 1 FROM bench_spans_on(sid, day - 1) x
                     WHERE x.closes <= x.opens AND m < x.closes)
    $$""",
    "ANALYZE stations_station",
]
_QUERY = """
SELECT s.id, s.name, s.type, s.lat, s.lng, s.amenity_bits,
  (SELECT array_agg(ARRAY[o.weekday, o.opens, o.closes]) FROM stations_openingspan o
   WHERE o.station_id = s.id),
  (SELECT array_agg(ARRAY[e.date - %(today)s, e.closed::int, coalesce(e.opens, 0),
                          coalesce(e.closes, 0)])
   FROM stations_scheduleexception e WHERE e.station_id = s.id AND e.date >= %(yesterday)s),
  (SELECT array_agg(ARRAY[c.starts_on - %(today)s, c.ends_on - %(today)s, c.opens, c.closes]
                    ORDER BY c.starts_on, c.id)
   FROM stations_holidaycampaign_stations cs
   JOIN stations_holidaycampaign c ON c.id = cs.holidaycampaign_id
   WHERE cs.station_id = s.id AND c.ends_on >= %(yesterday)s)
FROM stations_station s
WHERE s.is_active AND ST_DWithin(s.bench_geog, %(point)s::geography, %(radius)s, false)
{filters}
ORDER BY s.bench_geog <-> %(point)s::geography
LIMIT %(limit)s
"""
# The planner misjudges ST_DWithin's selectivity (estimates a handful of rows where a city
# has tens of thousands) and picks a bitmap scan, a sort of everything within the radius,
# parallel workers and JIT: ~250 ms instead of an index-ordered KNN scan's ~0.5 ms. Set
# once per connection. Ordering by distance alone keeps the scan index-ordered; exact
# ties at the limit may then differ from the platform's (distance, id) order.
_TUNING = "SET jit = off; SET enable_bitmapscan = off; SET max_parallel_workers_per_gather = 0"
_tuned: set[int] = set()


def prepare_postgis(connection) -> None:
    with connection.cursor() as cursor:
        for statement in POSTGIS_SQL:
            cursor.execute(statement)


def postgis_nearby(request):
    import json

    from django.db import connection
    from django.http import HttpResponse, JsonResponse
    from pydantic import ValidationError

    from nuanxin.geo.datum import from_wgs84, to_wgs84
    from nuanxin.geo.spatial import haversine_m
    from nuanxin.stations.amenities import bits_for, unknown_codes
    from nuanxin.stations.api import NearbyQuery
    from nuanxin.stations.presenters import amenities_out, aware
    from nuanxin.stations.schedule import Schedule, status_at
    from nuanxin.stations.selectors import local_now

    params = {k: request.GET.get(k) for k in request.GET if k != "amenity"}
    params["amenity"] = request.GET.getlist("amenity")
    try:
        q = NearbyQuery.model_validate(params)
    except ValidationError:
        return JsonResponse({"code": "invalid_input", "message": "bad input"}, status=400)
    if unknown_codes(q.amenity):
        return JsonResponse({"code": "unknown_amenity", "message": "bad input"}, status=400)
    bits = bits_for(q.amenity)
    lat, lng = to_wgs84(q.lat, q.lng, q.crs)
    now = local_now()
    today = now.date()
    args = {"today": today, "yesterday": today - timedelta(days=1), "radius": q.radius_m,
            "point": f"SRID=4326;POINT({lng!r} {lat!r})", "limit": q.limit, "bits": bits,
            "minute": now.hour * 60 + now.minute}
    filters = ""
    if bits:
        filters += " AND s.amenity_bits & %(bits)s = %(bits)s"
    if q.open_now:
        filters += " AND bench_open_at(s.id, %(today)s, %(minute)s)"
    with connection.cursor() as cursor:
        backend = connection.connection.info.backend_pid
        if backend not in _tuned:
            cursor.execute(_TUNING)
            _tuned.add(backend)
        cursor.execute(_QUERY.format(filters=filters), args)
        rows = cursor.fetchall()
    results = []
    for sid, name, kind, slat, slng, sbits, weekly, exceptions, campaigns in rows:
        schedule = Schedule()
        for weekday, opens, closes in weekly or ():
            schedule.weekly.setdefault(weekday, []).append((opens, closes))
        for offset, closed, opens, closes in exceptions or ():
            spans = schedule.exceptions.setdefault(today + timedelta(days=offset), [])
            if not closed:
                spans.append((opens, closes))
        for start, end, opens, closes in campaigns or ():
            schedule.campaigns.append((today + timedelta(days=start),
                                       today + timedelta(days=end), (opens, closes)))
        status = status_at(schedule, now)
        out_lat, out_lng = from_wgs84(slat, slng, q.crs)
        results.append({"id": sid, "name": name, "type": kind, "lat": out_lat, "lng": out_lng,
                        "distance_m": round(haversine_m(lat, lng, slat, slng)),
                        "open_now": status.open_now,
                        "next_change": aware(status.next_change),
                        "amenities": amenities_out(sbits)})
    results.sort(key=lambda r: (r["distance_m"], r["id"]))
    return HttpResponse(json.dumps({"results": results}, ensure_ascii=False).encode(),
                        content_type="application/json; charset=utf-8")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


_last_snapshot = None


def _pymalloc_mb() -> dict:
    """Python's small-object allocator (its arenas are mapped directly, so glibc's figures
    leave them out): MB of arenas mapped and of blocks in use, from the report that
    sys._debugmallocstats writes to the C stderr."""
    import re
    import tempfile

    with tempfile.TemporaryFile() as report:
        saved = os.dup(2)
        try:
            os.dup2(report.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        report.seek(0)
        text = report.read().decode(errors="replace")
    found = {}
    for label, pattern in (("arenas", r"\d+ arenas \* \d+ bytes/arena\s*=\s*([\d,]+)"),
                           ("in_use", r"# bytes in allocated blocks\s*=\s*([\d,]+)")):
        match = re.search(pattern, text)
        if match:
            found[label] = int(match.group(1).replace(",", "")) // 2**20
    return found


def memory(request):
    """What a worker's memory is made of (bench/nearby.py --memory-debug reads it before
    and after edits): resident size, the C allocator's view (glibc), Python's own blocks,
    the sizes of the nearby caches and, under PYTHONTRACEMALLOC, where Python memory grew
    since the last call."""
    import gc
    import json
    import threading
    import tracemalloc

    from django.http import HttpResponse

    from nuanxin.geo import spatial
    from nuanxin.stations.nearby import changes, hours, search
    from nuanxin.stations.nearby.index import NearbyIndex

    out: dict = {"pid": os.getpid(), "threads": threading.active_count()}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "RssAnon:")):
            out[line.split(":")[0]] = int(line.split()[1]) // 1024
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
        out["malloc_mb"] = {f: getattr(info, f) // 2**20
                            for f in ("arena", "hblkhd", "uordblks", "fordblks")}
    except (OSError, AttributeError):
        pass
    out["python_blocks"] = sys.getallocatedblocks()
    out["pymalloc_mb"] = _pymalloc_mb()
    index = changes._index
    out["caches"] = {"rings": len(search._RINGS), "cell_geometry": len(spatial.CELL_GEOMETRY),
                     "hours": len(hours.HOURS)}
    if index is not None:
        out["index"] = {"stations": len(index), "slots": len(index.ids),
                        "free": len(index.free), "cells": len(index.cells),
                        "neighbours": len(index.neighbours), "memos": len(index.memos),
                        "version": index.version, "generation": index.generation}
    out["live_indexes"] = sum(isinstance(o, NearbyIndex) for o in gc.get_objects())
    if tracemalloc.is_tracing():
        global _last_snapshot
        snapshot = tracemalloc.take_snapshot()
        if _last_snapshot is not None:
            out["grew"] = [str(s) for s in snapshot.compare_to(_last_snapshot, "lineno")[:15]]
        _last_snapshot = snapshot
    return HttpResponse(json.dumps(out).encode(), content_type="application/json")


def __getattr__(name: str):
    # The URL list, built on first use (importing the platform's URLs needs the apps).
    if name == "urlpatterns":
        from django.urls import path

        from nuanxin.urls import urlpatterns

        patterns = [path("bench/postgis/nearby", postgis_nearby),
                    path("bench/memory", memory), *urlpatterns]
        globals()["urlpatterns"] = patterns
        return patterns
    raise AttributeError(name)

"""The nearest stations to a point: from each cell's remembered nearest stations, else
rings of H3 cells searched outward until a lower bound proves nothing unsearched is
closer, else every station. Exact: the same answer as scanning every station."""

from __future__ import annotations

import math
from array import array
from bisect import insort
from datetime import datetime
from typing import NamedTuple

from h3 import H3BaseException
from h3.api import basic_int as h3_int

from nuanxin.geo.spatial import (
    BOUND_SLACK_M,
    CELL_GEOMETRY,
    EARTH_RADIUS_M,
    cell_geometry,
    cell_int_of,
    haversine_rad_m,
)
from nuanxin.stations import selectors
from nuanxin.stations.nearby.changes import nearby_index
from nuanxin.stations.nearby.index import (
    NEIGHBOUR_CELLS,
    NEIGHBOURS,
    NEIGHBOURS_RADIUS_M,
    IndexedStation,
    NearbyIndex,
    Neighbours,
)
from nuanxin.stations.schedule import Status

# Past this many rings the disk is wider than a city; a bounding-box scan is cheaper then.
MAX_RINGS = 40


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


def _neighbours(index: NearbyIndex, origin: int) -> Neighbours | None:
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


def _search_neighbours(index: NearbyIndex, listed: Neighbours, d0: float, p1: float,
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
    now = now or selectors.local_now()
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


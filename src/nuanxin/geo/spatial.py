"""Distances and the H3 cell index that nearest-neighbour queries stand on."""

from __future__ import annotations

import math

import h3
from django.utils.translation import gettext
from h3.api import basic_int as h3_int

# Resolution 7 cells have ~1.4 km edges: a city block of stations per cell, and a rider's
# 5 km search touches a few dozen cells.
H3_RESOLUTION = 7
EARTH_RADIUS_M = 6_371_008.8
_DIAMETER_M = 2 * EARTH_RADIUS_M
# Slack subtracted from every geometric lower bound, far above floating-point error
# (~1e-6 m at these distances) so a bound is never a hair too high.
BOUND_SLACK_M = 0.5


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres: THE distance of the platform (the nearby index
    computes the very same floats through `haversine_rad_m`)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    return haversine_rad_m(p1, math.radians(lng1), math.cos(p1),
                           p2, math.radians(lng2), math.cos(p2))


def haversine_rad_m(p1: float, l1: float, cos_p1: float,
                    p2: float, l2: float, cos_p2: float) -> float:
    """`haversine_m` from latitudes/longitudes already in radians and the latitudes'
    cosines, so an index can precompute them once per point. Same operations, same order:
    the result is bit-for-bit `haversine_m`'s."""
    a = math.sin((p2 - p1) / 2) ** 2 + cos_p1 * cos_p2 * math.sin((l2 - l1) / 2) ** 2
    return _DIAMETER_M * math.asin(min(1.0, math.sqrt(a)))


def cell_of(lat: float, lng: float) -> str:
    return h3.latlng_to_cell(lat, lng, H3_RESOLUTION)


def cell_int_of(lat: float, lng: float) -> int:
    """`cell_of` as H3's 64-bit integer (cheaper to hash and to walk rings with)."""
    return h3_int.latlng_to_cell(lat, lng, H3_RESOLUTION)


# cell (int) -> (centre lat rad, centre lng rad, cos centre lat, reach m); geometry never
# changes, and Zhejiang holds ~25,000 resolution-7 cells, so this stays small.
CELL_GEOMETRY: dict[int, tuple[float, float, float, float]] = {}


def cell_geometry(cell: int) -> tuple[float, float, float, float]:
    """(centre latitude and longitude in radians, cosine of the centre latitude, reach)."""
    geometry = CELL_GEOMETRY.get(cell)
    if geometry is None:
        clat, clng = h3_int.cell_to_latlng(cell)
        reach = max(haversine_m(clat, clng, vlat, vlng)
                    for vlat, vlng in h3_int.cell_to_boundary(cell))
        p = math.radians(clat)
        geometry = (p, math.radians(clng), math.cos(p), reach)
        if len(CELL_GEOMETRY) > 500_000:  # a pathological spread of queries: start over
            CELL_GEOMETRY.clear()
        CELL_GEOMETRY[cell] = geometry
    return geometry


def cell_reach_m(cell: str | int) -> float:
    """Largest distance from a cell's centre to any point of the cell.

    H3 cell edges are great-circle arcs (straight lines in the gnomonic projection of an
    icosahedron face), so a cell is a convex spherical polygon and the farthest point from
    its centre is a vertex.
    """
    return cell_geometry(h3.str_to_int(cell) if isinstance(cell, str) else cell)[3]


def ring_lower_bound_m(lat: float, lng: float, ring: list[str] | list[int]) -> float:
    """A distance below which no point of the ring's cells (or anything beyond them) lies.

    The ring encloses every cell searched so far, so any place outside the searched disk is
    at least as far as the nearest ring cell (a path from the query point to it crosses the
    ring, since grid distance changes by at most one between neighbouring cells); by the
    triangle inequality a cell is no closer than its centre's distance minus its reach.
    """
    p = math.radians(lat)
    return ring_lower_bound_rad_m(p, math.radians(lng), math.cos(p), [
        h3.str_to_int(cell) if isinstance(cell, str) else cell for cell in ring
    ])


def ring_lower_bound_rad_m(p: float, lam: float, cos_p: float, ring: list[int]) -> float:
    """`ring_lower_bound_m` for a point given in radians, over integer cells."""
    best = math.inf
    for cell in ring:
        cp, cl, ccos, reach = CELL_GEOMETRY.get(cell) or cell_geometry(cell)
        d = haversine_rad_m(p, lam, cos_p, cp, cl, ccos) - reach
        if d < best:
            best = d
    return max(0.0, best - BOUND_SLACK_M)


def distance_text(metres: float) -> str:
    """A distance as a rider reads it: metres up close, kilometres with one decimal beyond."""
    if metres < 1000:
        return gettext("%(m)d 米") % {"m": round(metres)}
    return gettext("%(km).1f 公里") % {"km": metres / 1000}

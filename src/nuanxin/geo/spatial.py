"""Distances and the H3 cell index that nearest-neighbour queries stand on."""

from __future__ import annotations

import math

import h3

# Resolution 7 cells have ~1.4 km edges: a city block of stations per cell, and a rider's
# 5 km search touches a few dozen cells.
H3_RESOLUTION = 7
EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def cell_of(lat: float, lng: float) -> str:
    return h3.latlng_to_cell(lat, lng, H3_RESOLUTION)


def cell_reach_m(cell: str) -> float:
    """Largest distance from a cell's centre to any point of the cell."""
    clat, clng = h3.cell_to_latlng(cell)
    return max(haversine_m(clat, clng, vlat, vlng) for vlat, vlng in h3.cell_to_boundary(cell))


def ring_lower_bound_m(lat: float, lng: float, ring: list[str]) -> float:
    """A distance below which no point of the ring's cells (or anything beyond them) lies.

    The ring encloses every cell searched so far, so any place outside the searched disk is
    at least as far as the nearest ring cell; by the triangle inequality a cell is no closer
    than its centre's distance minus its reach.
    """
    best = math.inf
    for cell in ring:
        clat, clng = h3.cell_to_latlng(cell)
        best = min(best, haversine_m(lat, lng, clat, clng) - cell_reach_m(cell))
    return max(0.0, best)

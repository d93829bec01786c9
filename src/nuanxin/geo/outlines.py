"""District outlines for map backdrops: the shipped boundaries, thinned for the wire.

A map with no tiles (no network, or the tile host blocked) still shows where a rider is
among the districts. Outlines are simplified once per process and converted to the map's
datum, so a request only picks the districts crossing its box.
"""

from __future__ import annotations

import threading

import shapely
from shapely.geometry import mapping, shape

from nuanxin.geo.datum import CRS, from_wgs84
from nuanxin.geo.models import Region, RegionLevel

# About 50 m: invisible at the zooms a district fills the screen, a tenth of the bytes.
TOLERANCE_DEG = 0.0005

_cache: dict[CRS, list[tuple[tuple[float, float, float, float], dict]]] = {}
_lock = threading.Lock()


def _round(geometry: dict) -> dict:
    def walk(coords):
        if isinstance(coords[0], (int, float)):
            return [round(coords[0], 5), round(coords[1], 5)]
        return [walk(c) for c in coords]

    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}


def _build(crs: CRS) -> list[tuple[tuple[float, float, float, float], dict]]:
    def to_crs(coords):  # an (n, 2) array of lng, lat
        return [from_wgs84(lat, lng, crs)[::-1] for lng, lat in coords]

    out = []
    rows = Region.objects.filter(level=RegionLevel.DISTRICT, boundary__isnull=False).values_list(
        "code", "name", "boundary"
    )
    for code, name, boundary in rows:
        geometry = shape(boundary).simplify(TOLERANCE_DEG, preserve_topology=True)
        if crs != CRS.WGS84:
            geometry = shapely.transform(geometry, to_crs)
        label = geometry.representative_point()
        out.append((geometry.bounds, {
            "type": "Feature",
            "properties": {"code": code, "name": name,
                           "label": [round(label.y, 5), round(label.x, 5)]},
            "geometry": _round(mapping(geometry)),
        }))
    return out


def _features(crs: CRS) -> list[tuple[tuple[float, float, float, float], dict]]:
    if crs not in _cache:
        with _lock:
            if crs not in _cache:
                built = _build(crs)
                if not built:  # regions not loaded yet: do not remember an empty map
                    return built
                _cache[crs] = built
    return _cache[crs]


def reset_outlines() -> None:
    _cache.clear()


def district_outlines(*, south: float, west: float, north: float, east: float,
                      crs: CRS = CRS.WGS84) -> dict:
    """A GeoJSON FeatureCollection of the districts crossing the box, both in `crs`."""
    return {
        "type": "FeatureCollection",
        "features": [
            feature for (x0, y0, x1, y1), feature in _features(crs)
            if x0 <= east and x1 >= west and y0 <= north and y1 >= south
        ],
    }

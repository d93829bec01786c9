"""Coordinate systems at the edges: we store WGS-84; Chinese maps speak GCJ-02 or BD-09."""

from __future__ import annotations

from enum import StrEnum

from fast_geocn import coord


class CRS(StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


_TO_WGS84 = {
    CRS.WGS84: lambda lng, lat: (lng, lat),
    CRS.GCJ02: coord.gcj02_to_wgs84,
    CRS.BD09: coord.bd09_to_wgs84,
}
_FROM_WGS84 = {
    CRS.WGS84: lambda lng, lat: (lng, lat),
    CRS.GCJ02: coord.wgs84_to_gcj02,
    CRS.BD09: coord.wgs84_to_bd09,
}


def to_wgs84(lat: float, lng: float, crs: CRS) -> tuple[float, float]:
    """(lat, lng) in `crs` → (lat, lng) in WGS-84."""
    out_lng, out_lat = _TO_WGS84[crs](lng, lat)
    return out_lat, out_lng


def from_wgs84(lat: float, lng: float, crs: CRS) -> tuple[float, float]:
    """(lat, lng) in WGS-84 → (lat, lng) in `crs`, rounded to ~1 cm."""
    out_lng, out_lat = _FROM_WGS84[crs](lng, lat)
    return round(out_lat, 7), round(out_lng, 7)


def tile_crs() -> CRS:
    """The datum of the configured map tiles; markers fall back to WGS-84 for any other setting."""
    from django.conf import settings

    return CRS(settings.NUANXIN_TILE_CRS) if settings.NUANXIN_TILE_CRS in CRS.__members__.values() \
        else CRS.WGS84

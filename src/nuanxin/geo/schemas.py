"""Shared API pieces for coordinates: the crs parameter and range-checked lat/lng."""

from __future__ import annotations

from ninja import Schema
from pydantic import Field

from nuanxin.geo.datum import CRS


class RegionRef(Schema):
    code: str
    name: str
    level: str


class RegionOut(Schema):
    code: str
    name: str
    level: str
    parent: RegionRef | None
    children: list[RegionRef]
    center: dict | None = Field(None, description="{lat, lng} in the requested crs")


class LocateOut(Schema):
    province: dict
    city: dict
    district: dict


Latitude = Field(..., ge=-90, le=90, description="latitude in the given crs")
Longitude = Field(..., ge=-180, le=180, description="longitude in the given crs")
CrsParam = Field(CRS.WGS84, description="coordinate system: wgs84 (GPS), gcj02 (AMap/Tencent), "
                 "bd09 (Baidu)")

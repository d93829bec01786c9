"""Reads of the region tree, and locating a point in it."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from shapely.geometry import Point, shape
from shapely.prepared import prep
from shapely.strtree import STRtree

from nuanxin.common.errors import NotFound
from nuanxin.geo.models import Region, RegionLevel


def region_get(code: str) -> Region:
    try:
        return Region.objects.select_related("parent").get(code=code)
    except Region.DoesNotExist:
        raise NotFound("region_not_found", _("没有这个行政区划代码。")) from None


def region_children(region: Region) -> list[Region]:
    return list(region.children.order_by("code").only("code", "name", "level", "parent_id"))


def region_ancestors(region: Region) -> list[Region]:
    """From the province down to the region itself."""
    chain = [region]
    while chain[-1].parent_id:
        chain.append(Region.objects.get(code=chain[-1].parent_id))
    return chain[::-1]


@dataclass(frozen=True)
class _DistrictIndex:
    tree: STRtree
    districts: list[tuple[str, str, str]]  # (district code, city code, province code)
    prepared: list


_index: _DistrictIndex | None = None
_index_lock = threading.Lock()


def _district_index() -> _DistrictIndex:
    global _index
    if _index is None:
        with _index_lock:
            if _index is None:
                rows = list(
                    Region.objects.filter(level=RegionLevel.DISTRICT, boundary__isnull=False)
                    .select_related("parent")
                    .values_list("code", "parent_id", "parent__parent_id", "boundary")
                )
                geometries = [shape(row[3]) for row in rows]
                _index = _DistrictIndex(
                    tree=STRtree(geometries),
                    districts=[(r[0], r[1], r[2]) for r in rows],
                    prepared=[prep(g) for g in geometries],
                )
    return _index


def reset_locate_index() -> None:
    global _index
    _index = None


def locate_district_code(lat: float, lng: float) -> str | None:
    index = _district_index()
    point = Point(lng, lat)
    for i in index.tree.query(point):
        if index.prepared[i].covers(point):
            return index.districts[i][0]
    return None


def region_locate(lat: float, lng: float) -> dict[str, Region]:
    """Province, city and district containing a WGS-84 point, or NotFound outside Zhejiang."""
    code = locate_district_code(lat, lng)
    if code is None:
        raise NotFound(
            "outside_service_area", _("这个位置不在浙江省服务范围内。"), status=404
        )
    district = Region.objects.select_related("parent__parent").get(code=code)
    return {"province": district.parent.parent, "city": district.parent, "district": district}

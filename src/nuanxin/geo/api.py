from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema

from nuanxin.common.errors import ServiceError
from nuanxin.geo.datum import CRS, from_wgs84, to_wgs84
from nuanxin.geo.outlines import district_outlines
from nuanxin.geo.schemas import CrsParam, Latitude, LocateOut, Longitude, RegionOut
from nuanxin.geo.selectors import region_children, region_get, region_locate

router = Router(tags=["regions"])


class LocateQuery(Schema):
    lat: float = Latitude
    lng: float = Longitude
    crs: CRS = CrsParam


class CrsQuery(Schema):
    crs: CRS = CrsParam


@router.get("/locate", response=LocateOut,
            summary="Which province, city and district a point is in")
def locate(request, q: Query[LocateQuery]):
    lat, lng = to_wgs84(q.lat, q.lng, q.crs)
    found = region_locate(lat, lng)
    return {level: {"code": r.code, "name": r.name} for level, r in found.items()}


class OutlinesQuery(Schema):
    south: float = Latitude
    west: float = Longitude
    north: float = Latitude
    east: float = Longitude
    crs: CRS = CrsParam


# A province's worth of map (Zhejiang spans about 5° by 4.5°): the console's overview shows
# every cabinet in the province over its districts. Wider boxes are past where outlines help.
MAX_OUTLINE_SPAN_DEG = 8.0


@router.get("/outlines", summary="District outlines crossing a box (GeoJSON), for map backdrops")
def outlines(request, response: HttpResponse, q: Query[OutlinesQuery]):
    if q.south > q.north or q.west > q.east:
        raise ServiceError("bad_box", _("范围不对：南边要小于北边，西边要小于东边。"))
    if q.north - q.south > MAX_OUTLINE_SPAN_DEG or q.east - q.west > MAX_OUTLINE_SPAN_DEG:
        raise ServiceError("box_too_large", _("范围太大，请缩小地图范围。"))
    # Boundaries change with a data release, not by the minute.
    response["Cache-Control"] = "public, max-age=86400"
    return district_outlines(south=q.south, west=q.west, north=q.north, east=q.east,
                             crs=q.crs)


@router.get("/{code}", response=RegionOut, summary="A region with its parent and children")
def region_detail(request, code: str, q: Query[CrsQuery]):
    region = region_get(code)
    center = None
    if region.center_lat is not None:
        lat, lng = from_wgs84(region.center_lat, region.center_lng, q.crs)
        center = {"lat": lat, "lng": lng}
    return {
        "code": region.code,
        "name": region.name,
        "level": region.level,
        "parent": region.parent,
        "children": region_children(region),
        "center": center,
    }

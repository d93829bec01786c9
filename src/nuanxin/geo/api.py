from ninja import Query, Router, Schema

from nuanxin.geo.datum import CRS, from_wgs84, to_wgs84
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

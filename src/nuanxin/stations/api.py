import json

from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema, Status
from ninja.security import django_auth
from pydantic import BaseModel, Field

from nuanxin.common.errors import ServiceError
from nuanxin.geo.datum import CRS, from_wgs84, to_wgs84
from nuanxin.geo.schemas import CrsParam, Latitude, Longitude
from nuanxin.stations import selectors, services
from nuanxin.stations.amenities import bits_for, unknown_codes
from nuanxin.stations.nearby.search import stations_nearby
from nuanxin.stations.presenters import amenities_out, aware, station_detail_out

router = Router(tags=["stations"])
# Mounted at /v1 so the feed lives at /api/v1/stations.geojson, a file-like address.
feeds = Router(tags=["stations"])


class NearbyQuery(BaseModel):
    # A plain pydantic model, not ninja.Schema: Schema wraps every input in its
    # ORM-friendly getter, which costs more than the rest of the parsing on this hot path.
    lat: float = Latitude
    lng: float = Longitude
    limit: int = Field(10, ge=1, le=50)
    radius_m: int = Field(20_000, ge=1, le=100_000, description="search radius in metres")
    amenity: list[str] = Field(default_factory=list, description="repeat; all must match")
    open_now: bool = False
    crs: CRS = CrsParam


class NearbyStation(Schema):
    id: int
    name: str
    type: str
    lat: float
    lng: float
    distance_m: int
    open_now: bool
    next_change: str | None
    amenities: list[dict]


class NearbyOut(Schema):
    results: list[NearbyStation]


def _amenity_bits(codes: list[str]) -> int:
    bad = unknown_codes(codes)
    if bad:
        raise ServiceError("unknown_amenity",
                           _("未知的设施：%(codes)s") % {"codes": ", ".join(bad)},
                           details={"unknown": bad})
    return bits_for(codes)


def _station_json(station, key: str, crs: CRS) -> tuple[str, str]:
    """A result's JSON text around its distance and status, for one language and crs:
    '{"id": …, "name": …, "type": …, "lat": …, "lng": …, "distance_m": ' and
    ', "amenities": […]}', remembered on the index entry."""
    parts = station.memo.get(key)
    if parts is None:
        lat, lng = from_wgs84(station.lat, station.lng, crs)
        head = json.dumps({"id": station.id, "name": station.name, "type": station.type,
                           "lat": lat, "lng": lng}, ensure_ascii=False)
        amenities = json.dumps(amenities_out(station.amenity_bits), ensure_ascii=False)
        parts = station.memo[key] = (f'{head[:-1]}, "distance_m": ',
                                     f', "amenities": {amenities}}}')
    return parts


# (open_now, next_change) -> ', "open_now": …, "next_change": …'
_STATUS_JSON: dict = {}


def _status_json(status) -> str:
    key = (status.open_now, status.next_change)
    text = _STATUS_JSON.get(key)
    if text is None:
        if len(_STATUS_JSON) > 10_000:
            _STATUS_JSON.clear()
        text = _STATUS_JSON[key] = (f', "open_now": {json.dumps(status.open_now)}, '
                                    f'"next_change": {json.dumps(aware(status.next_change))}')
    return text


@router.get("/nearby", response=NearbyOut, summary="Nearest active stations, nearest first")
def nearby(request, q: Query[NearbyQuery]):
    bits = _amenity_bits(q.amenity)
    crs = q.crs
    lat, lng = to_wgs84(q.lat, q.lng, crs)
    hits = stations_nearby(lat=lat, lng=lng, limit=q.limit, radius_m=q.radius_m,
                           required_bits=bits, open_now=q.open_now)
    # The body is exactly json.dumps(..., ensure_ascii=False) of NearbyOut's shape
    # (documented above; UTF-8 is half the size of \u escapes for the Chinese names and
    # labels), put together from pieces remembered per station and per status:
    # serialising and re-validating our own output would cost more than the search.
    # LocaleMiddleware notes the active language on the request (a cheaper read).
    language = getattr(request, "LANGUAGE_CODE", None) or translation.get_language()
    key = f"{language}|{crs.value}"
    parts = ['{"results": [']
    for hit in hits:
        head, tail = _station_json(hit.station, key, crs)
        parts += (head, str(round(hit.distance_m)), _status_json(hit.status), tail, ", ")
    if hits:
        parts.pop()
    parts.append("]}")
    # charset given explicitly: Django would otherwise find it in content_type by regex.
    return HttpResponse("".join(parts).encode(), content_type="application/json; charset=utf-8",
                        charset="utf-8")


class CrsQuery(Schema):
    crs: CRS = CrsParam


@feeds.get("/stations.geojson", url_name="stations_geojson",
           summary="Every active station as a GeoJSON FeatureCollection")
def stations_geojson(request, q: Query[CrsQuery]):
    import json

    features = []
    for s in selectors.stations_active_for_geojson().iterator(chunk_size=2000):
        lat, lng = from_wgs84(s.lat, s.lng, q.crs)
        features.append({
            "type": "Feature",
            "id": s.pk,
            "geometry": {"type": "Point", "coordinates": [lng, lat]},
            "properties": {"name": s.name, "type": s.type, "address": s.address,
                           "amenities": s.amenities, "night_light": s.night_light},
        })
    body = {"type": "FeatureCollection", "crs_name": q.crs.value, "features": features}
    return HttpResponse(json.dumps(body, ensure_ascii=False),
                        content_type="application/geo+json; charset=utf-8")


@router.get("/{int:station_id}", summary="One station with hours and today's schedule")
def station_detail(request, station_id: int, q: Query[CrsQuery]):
    station = selectors.station_get_public(station_id)
    return station_detail_out(station, selectors.schedule_of(station), q.crs)


class CheckInIn(Schema):
    token: str = Field(..., min_length=1, max_length=500)


class CheckInOut(Schema):
    station_id: int
    station_name: str
    recorded: bool
    checked_in_at: str
    message: str


@router.post("/checkins", response={200: CheckInOut, 201: CheckInOut}, auth=django_auth,
             summary="Check in at a station with the token from its QR code")
def checkin(request, body: CheckInIn):
    result = services.checkin_record(worker=request.user, token=body.token)
    if result.recorded:
        message = _("签到成功，欢迎歇歇脚！")
    else:
        message = _("一小时内已经签到过了，不重复记录。")
    return Status(201 if result.recorded else 200, {
        "station_id": result.station.pk,
        "station_name": result.station.name,
        "recorded": result.recorded,
        "checked_in_at": result.checkin.at.isoformat(),
        "message": str(message),
    })

"""Worker pages: nearest stations, a station's detail, and check-in by QR code."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from nuanxin.common.errors import ServiceError
from nuanxin.geo.datum import CRS, from_wgs84, tile_crs
from nuanxin.geo.models import Region, RegionLevel
from nuanxin.geo.spatial import distance_text
from nuanxin.stations import selectors, services
from nuanxin.stations.amenities import AMENITIES, bits_for
from nuanxin.stations.nearby.search import stations_nearby
from nuanxin.stations.presenters import station_detail_out
from nuanxin.stations.schedule import Status, status_at

# The amenities a rider filters by most, shown as one-tap chips on the home page.
QUICK_FILTERS = [
    "hot_water",
    "microwave",
    "phone_charging",
    "ebike_charging",
    "toilet",
    "battery_swap",
]


def _float(value: str | None, low: float, high: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high else None


def home(request):
    lat = _float(request.GET.get("lat"), -90, 90)
    lng = _float(request.GET.get("lng"), -180, 180)
    district_code = request.GET.get("district", "")
    districts = list(
        Region.objects.filter(level=RegionLevel.DISTRICT)
        .select_related("parent")
        .only("code", "name", "parent__name")
        .order_by("code")
    )
    place = None
    # A district chosen in the picker wins over a position the form still carries.
    if district_code:
        district = next((d for d in districts if d.code == district_code), None)
        if district and district.center_lat is not None:
            lat, lng, place = district.center_lat, district.center_lng, district
    chosen = [code for code in request.GET.getlist("amenity") if code in AMENITIES]
    open_now = request.GET.get("open_now") == "1"
    hits = []
    if lat is not None and lng is not None:
        hits = stations_nearby(
            lat=lat,
            lng=lng,
            limit=10,
            radius_m=20_000,
            required_bits=bits_for(chosen),
            open_now=open_now,
        )
    map_crs = tile_crs()
    markers = []
    for hit in hits:
        mlat, mlng = from_wgs84(hit.station.lat, hit.station.lng, map_crs)
        markers.append(
            {
                "id": hit.station.id,
                "name": hit.station.name,
                "lat": mlat,
                "lng": mlng,
                "open": hit.status.open_now,
            }
        )
    me = from_wgs84(lat, lng, map_crs) if lat is not None else None
    today = selectors.local_now().date()
    rows = [
        {
            "station": h.station,
            "status": h.status,
            "distance": distance_text(h.distance_m),
            "change": change_text(h.status, today),
        }
        for h in hits
    ]
    return render(
        request,
        "stations/home.html",
        {
            "hits": rows,
            "lat": lat,
            "lng": lng,
            "place": place,
            "districts": districts,
            "district_code": district_code,
            "quick_filters": [(code, AMENITIES[code][1]) for code in QUICK_FILTERS],
            "chosen": chosen,
            "open_now": open_now,
            "map_data": {"me": me, "markers": markers},
            "base_query": urlencode({"lat": lat, "lng": lng} if lat is not None else {}),
        },
    )


WEEKDAY_LABELS = [
    _l("周一"),
    _l("周二"),
    _l("周三"),
    _l("周四"),
    _l("周五"),
    _l("周六"),
    _l("周日"),
]


def change_text(status: Status, today: date) -> str:
    """'21:00 关门', '明天 08:00 开门', '24 小时开放' — what a rider needs at a glance."""
    if status.next_change is None:
        return _("24 小时开放") if status.open_now else _("近期不开放")
    when = status.next_change
    if when.date() == today:
        moment = when.strftime("%H:%M")
    elif when.date() == today + timedelta(days=1):
        moment = _("明天 %(t)s") % {"t": when.strftime("%H:%M")}
    else:
        moment = f"{when:%m-%d %H:%M}"
    return (_("%(t)s 关门") if status.open_now else _("%(t)s 开门")) % {"t": moment}


def station_detail(request, station_id: int):
    try:
        station = selectors.station_get_public(station_id)
    except ServiceError as exc:
        raise Http404(exc.message) from exc
    schedule = selectors.schedule_of(station)
    data = station_detail_out(station, schedule, CRS.WGS84)
    now = selectors.local_now()
    week = [
        {
            "label": _("今天")
            if i == 0
            else WEEKDAY_LABELS[date.fromisoformat(d["date"]).weekday()],
            "date": d["date"][5:],
            "spans": d["spans"],
        }
        for i, d in enumerate(data["next_7_days"])
    ]
    gcj_lat, gcj_lng = from_wgs84(station.lat, station.lng, CRS.GCJ02)
    navigate = "https://uri.amap.com/marker?" + urlencode(
        {
            "position": f"{gcj_lng},{gcj_lat}",
            "name": station.name,
            "coordinate": "gaode",
            "callnative": 1,
        }
    )
    map_crs = tile_crs()
    mlat, mlng = from_wgs84(station.lat, station.lng, map_crs)
    return render(
        request,
        "stations/detail.html",
        {
            "station": station,
            "data": data,
            "navigate_url": navigate,
            "week": week,
            "change": change_text(status_at(schedule, now), now.date()),
            "map_data": {
                "me": None,
                "markers": [
                    {
                        "id": station.pk,
                        "name": station.name,
                        "lat": mlat,
                        "lng": mlng,
                        "open": data["open_now"],
                    }
                ],
            },
        },
    )


def checkin(request, token: str):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), "accounts:login")
    try:
        result = services.checkin_record(worker=request.user, token=token)
    except ServiceError as exc:
        return render(request, "stations/checkin.html", {"error": exc.message}, status=exc.status)
    return render(
        request,
        "stations/checkin.html",
        {
            "result": result,
            "message": _("签到成功，欢迎歇歇脚！")
            if result.recorded
            else _("您一小时内已经在这里签到过了，这次不重复记录。"),
        },
    )

"""Shapes of a station for pages and the API, with coordinates in the asked-for datum."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from nuanxin.geo.datum import CRS, from_wgs84
from nuanxin.stations.amenities import amenity_label, codes_for
from nuanxin.stations.models import Station
from nuanxin.stations.schedule import Schedule, format_minutes, status_at
from nuanxin.stations.selectors import local_now

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
WEEKDAY_CODES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def aware(local: datetime | None) -> str | None:
    return local.replace(tzinfo=LOCAL_TZ).isoformat() if local else None


def amenities_out(bits: int) -> list[dict]:
    return [{"code": code, "label": amenity_label(code)} for code in codes_for(bits)]


def span_text(opens: int, closes: int) -> str:
    if opens == 0 and closes == 24 * 60:
        return "00:00–24:00"
    return f"{format_minutes(opens)}–{format_minutes(closes)}"


def station_detail_out(station: Station, schedule: Schedule, crs: CRS) -> dict:
    lat, lng = from_wgs84(station.lat, station.lng, crs)
    now = local_now()
    status = status_at(schedule, now)
    today = now.date()
    week = []
    for offset in range(7):
        day = today + timedelta(days=offset)
        week.append({
            "date": day.isoformat(),
            "weekday": WEEKDAY_CODES[day.weekday()],
            "spans": [{"opens": format_minutes(o), "closes": format_minutes(c)}
                      for o, c in schedule.spans_on(day)],
        })
    return {
        "id": station.pk,
        "name": station.name,
        "type": station.type,
        "region": {"code": station.region_id, "name": station.region.name},
        "address": station.address,
        "lat": lat,
        "lng": lng,
        "contact_name": station.contact_name,
        "contact_phone": station.contact_phone,
        "amenities": amenities_out(station.amenity_bits),
        "night_light": station.night_light,
        "open_now": status.open_now,
        "next_change": aware(status.next_change),
        "weekly_hours": [
            {"weekday": WEEKDAY_CODES[w],
             "spans": [{"opens": format_minutes(o), "closes": format_minutes(c)}
                       for o, c in schedule.weekly.get(w, [])]}
            for w in range(7)
        ],
        "today": week[0],
        "next_7_days": week,
        "photos": [p.image.url for p in station.photos.all()],
    }

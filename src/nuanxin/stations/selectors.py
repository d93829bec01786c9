"""Reads of stations: details, schedules and staff-scoped lists. The public nearby search
is the package stations.nearby."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nuanxin.common.errors import NotFound
from nuanxin.stations.models import (
    CheckIn,
    HolidayCampaign,
    OpeningSpan,
    ScheduleException,
    Station,
)
from nuanxin.stations.schedule import Schedule

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local_now() -> datetime:
    return timezone.now().astimezone(LOCAL_TZ).replace(tzinfo=None)


def station_get_public(station_id: int) -> Station:
    station = (
        Station.objects.filter(pk=station_id, is_active=True)
        .select_related("region")
        .prefetch_related("spans", "photos")
        .first()
    )
    if station is None:
        raise NotFound("station_not_found", _("找不到这个服务阵地。"))
    return station


def stations_named(names) -> dict[str, Station]:
    """Stations by name: other apps' demo seeders put their things beside the named stations."""
    return {s.name: s for s in Station.objects.filter(name__in=set(names))}


def schedules_for(station_ids: list[int]) -> dict[int, Schedule]:
    """Build schedules for many stations in three queries."""
    schedules = {sid: Schedule() for sid in station_ids}
    if not station_ids:
        return schedules
    today = local_now().date()
    for sid, weekday, opens, closes in OpeningSpan.objects.filter(
        station_id__in=station_ids
    ).values_list("station_id", "weekday", "opens", "closes"):
        schedules[sid].weekly.setdefault(weekday, []).append((opens, closes))
    for sid, day, closed, opens, closes in ScheduleException.objects.filter(
        station_id__in=station_ids, date__gte=today - timedelta(days=1)
    ).values_list("station_id", "date", "closed", "opens", "closes"):
        spans = schedules[sid].exceptions.setdefault(day, [])
        if not closed:
            spans.append((opens, closes))
    through = HolidayCampaign.stations.through
    # In the order the nearby index keeps them (the first campaign of a day wins).
    for sid, starts_on, ends_on, opens, closes in through.objects.filter(
        station_id__in=station_ids, holidaycampaign__ends_on__gte=today - timedelta(days=1)
    ).order_by("holidaycampaign__starts_on", "holidaycampaign_id").values_list(
        "station_id",
        "holidaycampaign__starts_on",
        "holidaycampaign__ends_on",
        "holidaycampaign__opens",
        "holidaycampaign__closes",
    ):
        schedules[sid].campaigns.append((starts_on, ends_on, (opens, closes)))
    return schedules


def schedule_of(station: Station) -> Schedule:
    return schedules_for([station.pk])[station.pk]


def stations_active_for_geojson() -> QuerySet[Station]:
    return Station.objects.filter(is_active=True).only(
        "id", "name", "type", "lat", "lng", "amenity_bits", "address", "night_light"
    )


def local_day_start() -> datetime:
    """Midnight of today in Asia/Shanghai, as an aware moment: "today's visits" follow the
    community's calendar, not UTC's."""
    return timezone.now().astimezone(LOCAL_TZ).replace(hour=0, minute=0, second=0,
                                                       microsecond=0)


def stations_for_staff(user, *, search: str = "") -> QuerySet[Station]:
    today_start = local_day_start()
    qs = Station.objects.visible_to(user).select_related("region")
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(address__icontains=search))
    return qs.annotate(
        visits_today=Count("checkins", filter=Q(checkins__at__gte=today_start))
    ).order_by("region_id", "name")


def station_for_staff(user, station_id: int) -> Station:
    # Outside the viewer's region looks the same as not existing.
    return Station.objects.select_related("region").get_visible_or_404(user, pk=station_id)


def visits_today(station: Station) -> int:
    return CheckIn.objects.filter(station=station, at__gte=local_day_start()).count()

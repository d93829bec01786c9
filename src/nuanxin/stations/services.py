"""Write use cases for stations: create and edit, hours, exceptions, campaigns, check-in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import STATION_EDITOR_ROLES, User, UserKind
from nuanxin.accounts.selectors import staff_profile_of
from nuanxin.accounts.services import audit
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.geo.models import Region
from nuanxin.geo.selectors import locate_district_code
from nuanxin.geo.spatial import cell_of
from nuanxin.stations.amenities import bits_for, unknown_codes
from nuanxin.stations.models import (
    MINUTES_PER_DAY,
    CheckIn,
    OpeningSpan,
    ScheduleException,
    Station,
    StationIndexVersion,
    StationType,
)
from nuanxin.stations.qr import station_id_from_token

CHECKIN_INTERVAL = timedelta(hours=1)


def bump_index_version() -> None:
    """Tell every process its nearby index is stale; call inside the writing transaction."""
    updated = StationIndexVersion.objects.filter(pk=1).update(version=F("version") + 1)
    if not updated:
        StationIndexVersion.objects.get_or_create(pk=1, defaults={"version": 1})


def _require_editor(user: User, region_code: str) -> None:
    if user.is_superuser:
        return
    profile = staff_profile_of(user)
    if profile is None or profile.role not in STATION_EDITOR_ROLES:
        raise PermissionDenied("not_allowed", _("您没有管理服务阵地的权限。"))
    if not region_code.startswith(profile.org_unit.region.prefix):
        raise NotFound("station_not_found", _("找不到这个服务阵地。"))


def _locked_station(user: User, station_id: int) -> Station:
    station = Station.objects.visible_to(user).select_for_update().filter(pk=station_id).first()
    if station is None:
        raise NotFound("station_not_found", _("找不到这个服务阵地。"))
    _require_editor(user, station.region_id)
    return station


@dataclass
class StationData:
    name: str
    type: str
    region_code: str
    lat: float
    lng: float
    address: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    amenities: tuple[str, ...] = ()
    night_light: bool = False
    is_active: bool = True


def validate_station_data(data: StationData) -> Region:
    """Every check a station must pass; shared by the form, the API and the .xlsx import."""
    if not data.name.strip():
        raise ServiceError("name_required", _("请填写名称。"))
    if data.type not in StationType.values:
        raise ServiceError("invalid_station_type", _("未知的阵地类型。"))
    bad = unknown_codes(data.amenities)
    if bad:
        raise ServiceError("unknown_amenity",
                           _("未知的设施：%(codes)s") % {"codes": ", ".join(bad)})
    if not (-90 <= data.lat <= 90 and -180 <= data.lng <= 180):
        raise ServiceError("invalid_coordinates", _("坐标超出范围。"))
    region = Region.objects.filter(code=data.region_code).first()
    if region is None:
        raise ServiceError("unknown_region", _("没有这个行政区划代码。"))
    district = locate_district_code(data.lat, data.lng)
    if district is None:
        raise ServiceError("outside_service_area", _("这个位置不在浙江省服务范围内。"))
    if not (region.code.startswith(district) or district.startswith(region.prefix)):
        raise ServiceError("location_outside_region", _("坐标不在所选区划内。"))
    return region


def _apply(station: Station, data: StationData, region: Region) -> None:
    station.name = data.name.strip()
    station.type = data.type
    station.region = region
    station.lat, station.lng = data.lat, data.lng
    station.h3_cell = cell_of(data.lat, data.lng)
    station.address = data.address.strip()
    station.contact_name = data.contact_name.strip()
    station.contact_phone = data.contact_phone.strip()
    station.amenity_bits = bits_for(data.amenities)
    station.night_light = data.night_light
    station.is_active = data.is_active


@transaction.atomic
def station_create(*, user: User, data: StationData) -> Station:
    region = validate_station_data(data)
    _require_editor(user, region.code)
    station = Station()
    _apply(station, data, region)
    station.save()
    bump_index_version()
    audit(actor=user, action="stations.station.created", obj_type="station", obj_id=station.pk)
    return station


@transaction.atomic
def station_update(*, user: User, station_id: int, data: StationData) -> Station:
    station = _locked_station(user, station_id)
    region = validate_station_data(data)
    _require_editor(user, region.code)
    _apply(station, data, region)
    station.save()
    bump_index_version()
    audit(actor=user, action="stations.station.updated", obj_type="station", obj_id=station.pk)
    return station


def validate_spans(spans: list[tuple[int, int, int]]) -> None:
    """(weekday, opens, closes) triples; overlapping spans are refused.

    Spans are laid on the week as one circular timeline, so an overnight span that runs
    into the next morning (Sunday night into Monday too) may not overlap that day's spans.
    """
    week = 7 * MINUTES_PER_DAY
    intervals: list[tuple[int, int]] = []
    for weekday, opens, closes in spans:
        if not (0 <= weekday <= 6 and 0 <= opens < MINUTES_PER_DAY
                and 1 <= closes <= MINUTES_PER_DAY):
            raise ServiceError("invalid_hours", _("营业时间格式不正确。"))
        if opens == closes:
            raise ServiceError("invalid_hours",
                               _("开门和关门时间不能相同；全天开放请填 00:00–24:00。"))
        start = weekday * MINUTES_PER_DAY + opens
        end = weekday * MINUTES_PER_DAY + (closes if closes > opens else closes + MINUTES_PER_DAY)
        intervals.append((start, end))
    intervals.sort()
    overlapping = any(s2 < e1 for (_s1, e1), (s2, _e2) in zip(intervals, intervals[1:],
                                                                  strict=False))
    if intervals and max(e for _s, e in intervals) - week > intervals[0][0]:
        overlapping = True  # Sunday night runs into Monday's first span
    if overlapping:
        raise ServiceError("overlapping_hours",
                           _("营业时段不能重叠（跨夜时段也不能与次日时段重叠）。"))


@transaction.atomic
def station_set_hours(*, user: User, station_id: int, spans: list[tuple[int, int, int]]) -> None:
    """Replace the weekly hours with `spans`. An empty list means closed every day."""
    station = _locked_station(user, station_id)
    validate_spans(spans)
    _replace_spans(station, spans)
    bump_index_version()
    audit(actor=user, action="stations.hours.replaced", obj_type="station", obj_id=station.pk,
          spans=spans)


def _replace_spans(station: Station, spans: list[tuple[int, int, int]]) -> None:
    OpeningSpan.objects.filter(station=station).delete()
    OpeningSpan.objects.bulk_create(
        OpeningSpan(station=station, weekday=w, opens=o, closes=c) for w, o, c in sorted(spans)
    )


@transaction.atomic
def station_add_exception(
    *, user: User, station_id: int, day: date, closed: bool, opens: int | None = None,
    closes: int | None = None, reason: str = "",
) -> ScheduleException:
    station = _locked_station(user, station_id)
    if closed:
        opens = closes = None
        ScheduleException.objects.filter(station=station, date=day).delete()
    else:
        if opens is None or closes is None:
            raise ServiceError("invalid_hours", _("请填写当天的开门和关门时间。"))
        validate_spans([(day.weekday(), opens, closes)])
        if ScheduleException.objects.filter(station=station, date=day, closed=True).exists():
            raise ServiceError("exception_conflict", _("这一天已设为全天关闭。"), status=409)
        others = ScheduleException.objects.filter(station=station, date=day)
        validate_spans([(day.weekday(), o, c) for o, c in others.values_list("opens", "closes")]
                       + [(day.weekday(), opens, closes)])
    exception = ScheduleException.objects.create(
        station=station, date=day, closed=closed, opens=opens, closes=closes,
        reason=reason.strip()[:80],
    )
    bump_index_version()
    return exception


@transaction.atomic
def station_remove_exception(*, user: User, station_id: int, exception_id: int) -> None:
    station = _locked_station(user, station_id)
    deleted, _n = ScheduleException.objects.filter(station=station, pk=exception_id).delete()
    if not deleted:
        raise NotFound("exception_not_found", _("找不到这条例外安排。"))
    bump_index_version()


@dataclass(frozen=True)
class CheckInResult:
    station: Station
    recorded: bool
    checkin: CheckIn


@transaction.atomic
def checkin_record(*, worker: User, token: str) -> CheckInResult:
    """Record a visit from a scanned station code; a repeat within the hour records nothing."""
    station_id = station_id_from_token(token)
    if worker.kind != UserKind.WORKER:
        raise PermissionDenied("workers_only", _("只有骑手、快递员和司机可以签到。"))
    station = Station.objects.filter(pk=station_id, is_active=True).first()
    if station is None:
        raise NotFound("station_not_found", _("这个服务阵地已停用。"))
    # Lock the worker row: two scans at the same moment must not both count.
    User.objects.select_for_update().filter(pk=worker.pk).first()
    now = timezone.now()
    recent = (
        CheckIn.objects.filter(worker=worker, station=station, at__gt=now - CHECKIN_INTERVAL)
        .order_by("-at")
        .first()
    )
    if recent is not None:
        return CheckInResult(station, False, recent)
    checkin = CheckIn.objects.create(worker=worker, station=station, at=now)
    return CheckInResult(station, True, checkin)

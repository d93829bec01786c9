"""Write use cases for stations: create and edit, hours, exceptions, campaigns, check-in."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import STATION_EDITOR_ROLES, User, UserKind
from nuanxin.accounts.services import audit
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.common.scoping import access_of, covers
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
    StationChange,
    StationIndexVersion,
    StationPhoto,
    StationType,
)
from nuanxin.stations.qr import station_id_from_token

CHECKIN_INTERVAL = timedelta(hours=1)


# A change to more stations than this is logged as one row listing them all: each process
# then applies it in the background instead of on the request that finds it.
BULK_CHANGE = 200
# Change rows kept for processes that fell behind (older ones rebuild).
CHANGES_KEPT = 20_000


def bump_index_version(station_ids: Iterable[int] | None = None, *,
                       campaign_id: int | None = None) -> int | None:
    """Tell every process which stations changed; call inside the writing transaction.

    `station_ids`: the stations whose index entry (position, name, amenities, hours,
    active or not) may have changed; None for "too many to say" (seeds, tests writing the
    tables directly). Nothing is logged for an empty list. The version goes up by one
    under the counter row's lock, which is held until commit: versions commit in order,
    so a process that has applied every change up to N has missed none below it.

    `campaign_id`: the change was that campaign's alone (it was created, edited or
    deleted, or `station_ids` joined or left it): one row naming it and listing the
    stations, which processes apply from the campaign's row and members without reading
    the stations, however many.
    """
    ids = None if station_ids is None else sorted({int(i) for i in station_ids})
    if ids is not None and not ids:
        return None
    if campaign_id is not None and ids is None:
        raise ValueError("a campaign change lists the stations it changed")
    counter = StationIndexVersion.objects.filter(pk=1)
    if not counter.update(version=F("version") + 1):
        # The row is created by a migration; only a database emptied since lacks it.
        StationIndexVersion.objects.create(pk=1, version=(secrets.randbits(30) << 32) + 1)
    version = counter.values_list("version", flat=True).get()
    if ids is None:
        changes = [StationChange(seq=version)]
    elif campaign_id is not None or len(ids) > BULK_CHANGE:
        changes = [StationChange(seq=version, station_pks=",".join(map(str, ids)),
                                 campaign_pk=campaign_id)]
    else:
        changes = [StationChange(seq=version, station_pk=i) for i in ids]
    StationChange.objects.bulk_create(changes)
    if version % 1000 == 0:
        StationChange.objects.filter(seq__lt=version - CHANGES_KEPT).delete()
    return version


def _require_editor(user: User, region_code: str, *, placing: bool = False) -> None:
    """Staff with an editing role whose region contains `region_code`.

    Outside the region answers 404 like a missing object: the station's, or — when
    `placing` a station in a region (create, move) — the region's.
    """
    access = access_of(user)
    if access.superuser:
        return
    if access.role not in STATION_EDITOR_ROLES:
        raise PermissionDenied("not_allowed", _("您没有管理服务阵地的权限。"))
    if not covers(access.prefix, region_code):
        if placing:
            raise NotFound("region_not_found",
                           _("没有这个行政区划，或它不在您的管辖范围内。"))
        raise NotFound(*Station.not_found)


def _locked_station(user: User, station_id: int) -> Station:
    station = Station.objects.select_for_update().get_visible_or_404(user, pk=station_id)
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
    for value, limit in ((data.name, 80), (data.address, 200), (data.contact_name, 40),
                         (data.contact_phone, 20)):
        if len(value.strip()) > limit:
            raise ServiceError("text_too_long", _("“%(text)s…”超过 %(limit)d 个字。")
                               % {"text": value.strip()[:10], "limit": limit})
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
    if not (covers(district, region.code) or covers(region.prefix, district)):
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
    _require_editor(user, region.code, placing=True)
    station = Station()
    _apply(station, data, region)
    station.save()
    bump_index_version([station.pk])
    audit(actor=user, action="stations.station.created", obj_type="station", obj_id=station.pk)
    return station


@transaction.atomic
def station_update(*, user: User, station_id: int, data: StationData) -> Station:
    station = _locked_station(user, station_id)
    region = validate_station_data(data)
    _require_editor(user, region.code, placing=True)
    _apply(station, data, region)
    station.save()
    bump_index_version([station.pk])
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
    bump_index_version([station.pk])
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
    bump_index_version([station.pk])
    return exception


@transaction.atomic
def station_remove_exception(*, user: User, station_id: int, exception_id: int) -> None:
    station = _locked_station(user, station_id)
    deleted, _n = ScheduleException.objects.filter(station=station, pk=exception_id).delete()
    if not deleted:
        raise NotFound("exception_not_found", _("找不到这条例外安排。"))
    bump_index_version([station.pk])


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


# --- Holiday campaigns (春节"不打烊") -------------------------------------------------------

from nuanxin.stations.models import HolidayCampaign  # noqa: E402

CAMPAIGN_MAX_DAYS = 92


def _campaign_region(user: User, region_code: str) -> Region:
    region = Region.objects.visible_to(user).filter(code=region_code).first()
    if region is None:
        raise NotFound("region_not_found", _("没有这个行政区划，或它不在您的管辖范围内。"))
    _require_editor(user, region.code)
    return region


def validate_campaign(*, name: str, starts_on: date, ends_on: date, opens: int,
                      closes: int, today: date | None = None) -> None:
    """Every check a campaign must pass; shared by the console form and the service."""
    if not name.strip():
        raise ServiceError("name_required", _("请填写名称。"))
    if len(name.strip()) > 60:
        raise ServiceError("name_too_long", _("名称不能超过 60 个字。"))
    if ends_on < starts_on:
        raise ServiceError("campaign_dates_reversed", _("结束日期不能早于开始日期。"))
    if (ends_on - starts_on).days + 1 > CAMPAIGN_MAX_DAYS:
        raise ServiceError("campaign_too_long",
                           _("一次活动最长 %(days)d 天。") % {"days": CAMPAIGN_MAX_DAYS})
    if today is None:
        from nuanxin.stations.selectors import local_now

        today = local_now().date()
    if ends_on < today:
        raise ServiceError("campaign_in_past", _("活动的结束日期已经过去。"))
    validate_spans([(starts_on.weekday(), opens, closes)])


@transaction.atomic
def campaign_create(
    *, user: User, name: str, region_code: str, starts_on: date, ends_on: date,
    opens: int = 0, closes: int = MINUTES_PER_DAY, station_ids: list[int] | None = None,
) -> HolidayCampaign:
    """Start a dated campaign in a region inside the user's scope; optionally join stations."""
    region = _campaign_region(user, region_code)
    validate_campaign(name=name, starts_on=starts_on, ends_on=ends_on, opens=opens,
                      closes=closes)
    campaign = HolidayCampaign.objects.create(
        name=name.strip(), region=region, starts_on=starts_on, ends_on=ends_on, opens=opens,
        closes=closes,
    )
    if station_ids:
        campaign.stations.set(_campaign_stations(user, campaign, station_ids))
    bump_index_version(campaign.stations.values_list("pk", flat=True), campaign_id=campaign.pk)
    audit(actor=user, action="stations.campaign.created", obj_type="campaign",
          obj_id=campaign.pk, stations=sorted(station_ids or []))
    return campaign


def _locked_campaign(user: User, campaign_id: int) -> HolidayCampaign:
    campaign = (HolidayCampaign.objects.select_for_update().select_related("region")
                .get_visible_or_404(user, pk=campaign_id))
    _require_editor(user, campaign.region_id)
    return campaign


def _campaign_stations(user: User, campaign: HolidayCampaign, station_ids) -> list[Station]:
    """The asked-for stations, each visible to the user and inside the campaign's region."""
    wanted = {int(sid) for sid in station_ids}
    stations = list(
        Station.objects.visible_to(user).in_region(campaign.region.prefix).filter(pk__in=wanted)
    )
    missing = wanted - {s.pk for s in stations}
    if missing:
        raise NotFound("station_not_found",
                       _("有服务阵地不存在，或不在这个活动的区划内。"),
                       details={"station_ids": sorted(missing)})
    return stations


@transaction.atomic
def campaign_set_stations(*, user: User, campaign_id: int, station_ids: list[int]) -> None:
    """Make exactly `station_ids` the campaign's stations (an empty list removes all)."""
    campaign = _locked_campaign(user, campaign_id)
    before = set(campaign.stations.values_list("pk", flat=True))
    stations = _campaign_stations(user, campaign, station_ids)
    campaign.stations.set(stations)
    # Those that left and those that joined; a station that stays keeps its hours.
    bump_index_version(before.symmetric_difference(s.pk for s in stations),
                       campaign_id=campaign.pk)
    audit(actor=user, action="stations.campaign.stations_set", obj_type="campaign",
          obj_id=campaign.pk, stations=sorted(int(s) for s in station_ids))


@transaction.atomic
def campaign_add_stations(*, user: User, campaign_id: int, station_ids: list[int]) -> None:
    campaign = _locked_campaign(user, campaign_id)
    before = set(campaign.stations.values_list("pk", flat=True))
    stations = _campaign_stations(user, campaign, station_ids)
    campaign.stations.add(*stations)
    bump_index_version({s.pk for s in stations} - before, campaign_id=campaign.pk)
    audit(actor=user, action="stations.campaign.stations_added", obj_type="campaign",
          obj_id=campaign.pk, stations=sorted(int(s) for s in station_ids))


@transaction.atomic
def campaign_remove_station(*, user: User, campaign_id: int, station_id: int) -> None:
    campaign = _locked_campaign(user, campaign_id)
    if not campaign.stations.filter(pk=station_id).exists():
        raise NotFound("station_not_found", _("这个服务阵地没有参加该活动。"))
    campaign.stations.remove(station_id)
    bump_index_version([station_id], campaign_id=campaign.pk)
    audit(actor=user, action="stations.campaign.station_removed", obj_type="campaign",
          obj_id=campaign.pk, station=station_id)


@transaction.atomic
def campaign_update(*, user: User, campaign_id: int, name: str, starts_on: date,
                    ends_on: date, opens: int, closes: int) -> HolidayCampaign:
    """Rename a campaign, move its dates or change its hours (ending it early: an earlier
    `ends_on`, today at the soonest)."""
    campaign = _locked_campaign(user, campaign_id)
    validate_campaign(name=name, starts_on=starts_on, ends_on=ends_on, opens=opens,
                      closes=closes)
    hours_before = (campaign.starts_on, campaign.ends_on, campaign.opens, campaign.closes)
    campaign.name, campaign.starts_on, campaign.ends_on = name.strip(), starts_on, ends_on
    campaign.opens, campaign.closes = opens, closes
    campaign.save(update_fields=["name", "starts_on", "ends_on", "opens", "closes"])
    if (starts_on, ends_on, opens, closes) != hours_before:
        bump_index_version(campaign.stations.values_list("pk", flat=True),
                           campaign_id=campaign.pk)
    audit(actor=user, action="stations.campaign.updated", obj_type="campaign",
          obj_id=campaign.pk, starts_on=starts_on.isoformat(), ends_on=ends_on.isoformat(),
          opens=opens, closes=closes)
    return campaign


@transaction.atomic
def campaign_delete(*, user: User, campaign_id: int) -> None:
    """Delete a campaign: its stations go back to their own hours."""
    campaign = _locked_campaign(user, campaign_id)
    members = list(campaign.stations.values_list("pk", flat=True))
    campaign.delete()
    bump_index_version(members, campaign_id=campaign_id)
    audit(actor=user, action="stations.campaign.deleted", obj_type="campaign",
          obj_id=campaign_id, stations=sorted(members))


# --- Photos ------------------------------------------------------------------------------

MAX_PHOTOS = 6
MAX_PHOTO_BYTES = 5 * 1024 * 1024
_IMAGE_SIGNATURES = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png"}


def _image_extension(head: bytes) -> str | None:
    for signature, extension in _IMAGE_SIGNATURES.items():
        if head.startswith(signature):
            return extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


@transaction.atomic
def station_add_photo(*, user: User, station_id: int, upload, caption: str = "") -> StationPhoto:
    """Attach a JPEG, PNG or WebP photo; the file's bytes decide its type, not its name."""
    station = _locked_station(user, station_id)
    if station.photos.count() >= MAX_PHOTOS:
        raise ServiceError("too_many_photos", _("每个阵地最多 %(n)d 张照片。") % {"n": MAX_PHOTOS})
    if upload.size > MAX_PHOTO_BYTES:
        raise ServiceError("photo_too_large", _("照片不能超过 5 MB。"))
    head = upload.read(16)
    upload.seek(0)
    extension = _image_extension(head)
    if extension is None:
        raise ServiceError("photo_not_an_image", _("只能上传 JPG、PNG 或 WebP 格式的照片。"))
    photo = StationPhoto(station=station, caption=caption.strip()[:80])
    photo.image.save(f"{station.pk}-{secrets.token_hex(8)}.{extension}", upload, save=False)
    photo.save()
    audit(actor=user, action="stations.photo.added", obj_type="station", obj_id=station.pk)
    return photo


@transaction.atomic
def station_remove_photo(*, user: User, station_id: int, photo_id: int) -> None:
    station = _locked_station(user, station_id)
    photo = station.photos.filter(pk=photo_id).first()
    if photo is None:
        raise NotFound("photo_not_found", _("找不到这张照片。"))
    stored = photo.image.name
    storage = photo.image.storage
    photo.delete()
    # The file goes only once the row is gone for good.
    transaction.on_commit(lambda: storage.delete(stored))
    audit(actor=user, action="stations.photo.removed", obj_type="station", obj_id=station.pk)

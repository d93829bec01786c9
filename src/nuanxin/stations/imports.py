"""Bulk import and export of stations through the .xlsx workbook (see xlsx.py).

An import is all or nothing: every row is checked first (the same checks as the console
form, plus scope and hours), every problem is reported with its row, column and reason,
and only a file without problems is written, in one transaction that bumps the nearby
index version once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import STATION_EDITOR_ROLES, User
from nuanxin.accounts.services import audit
from nuanxin.common.errors import PermissionDenied, ServiceError
from nuanxin.common.scoping import access_of, in_scope
from nuanxin.geo.models import Region
from nuanxin.stations import xlsx
from nuanxin.stations.amenities import AMENITIES, amenity_label, codes_for
from nuanxin.stations.forms import (
    HoursTextError,
    format_day_hours,
    overnight_overlaps,
    parse_day_hours,
)

# The station's field mapping and span replacement are the services' own, so a row
# imported here ends up exactly as the same values saved through the console form.
from nuanxin.stations.models import OpeningSpan, Station, StationType
from nuanxin.stations.services import (
    StationData,
    _apply,
    _replace_spans,
    bump_index_version,
    validate_spans,
    validate_station_data,
)

CHUNK = 900  # stays under SQLite's bound-parameter limit
MAX_LENGTHS = {"name": 80, "address": 200, "contact_name": 40, "contact_phone": 20}
# Where a refusal of validate_station_data belongs in the sheet.
ERROR_COLUMNS = {
    "name_required": "name",
    "invalid_station_type": "type",
    "unknown_amenity": "amenities",
    "invalid_coordinates": "lat",
    "unknown_region": "region",
    "outside_service_area": "lat",
    "location_outside_region": "region",
}
_TRUE = {"是", "y", "yes", "true", "1", "✓", "√", "对", "有", "开"}
_FALSE = {"否", "n", "no", "false", "0", "×", "无", "关", "不"}
_LIST_SEPARATORS = re.compile(r"[、,，;；\n]+")


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str
    value: str
    message: str


class ImportInvalid(ServiceError):
    """One or more rows are bad; nothing was written."""

    def __init__(self, problems: list[RowProblem]):
        problems = sorted(problems, key=lambda p: (p.row, _column_order(p.column)))
        rows = len({p.row for p in problems})
        super().__init__(
            "import_rows_invalid",
            _("有 %(rows)d 行有问题（共 %(count)d 处），整个文件都没有导入。请改正后重新上传。")
            % {"rows": rows, "count": len(problems)},
            details={"problems": [p.__dict__ for p in problems]},
        )
        self.problems = problems
        self.bad_rows = rows


def _column_order(header: str) -> int:
    for index, column in enumerate(xlsx.COLUMNS):
        if header == str(column.header):
            return index
    return -1


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    station_ids: list[int] = field(default_factory=list)


@dataclass
class _Planned:
    row: int
    station_id: int | None
    data: StationData
    region: Region | None
    spans: list[tuple[int, int, int]]


def _chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _require_import_rights(user: User) -> None:
    access = access_of(user)
    if not (access.superuser or access.role in STATION_EDITOR_ROLES):
        raise PermissionDenied("not_allowed", _("您没有管理服务阵地的权限。"))


def _aliases() -> tuple[dict[str, str], dict[str, str]]:
    """Station types and amenities by code or by label in any site language."""
    types = {value: value for value in StationType.values}
    amenities = {code: code for code in AMENITIES}
    parts: dict[str, set[str]] = {}
    for lang, _name in settings.LANGUAGES:
        with translation.override(lang):
            for value, label in StationType.choices:
                types[str(label).strip().lower()] = value
            for code in AMENITIES:
                label = amenity_label(code).strip().lower()
                amenities[label] = code
                for part in re.split(r"\s*/\s*", label):  # "饮用水/热水" → 饮用水, 热水
                    parts.setdefault(part, set()).add(code)
    for part, codes in parts.items():
        if len(codes) == 1:
            amenities.setdefault(part, next(iter(codes)))
    return types, amenities


def _bool(text: str, default: bool) -> bool | None:
    if not text:
        return default
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(xlsx.cell_text(value).replace("，", "."))
    except ValueError:
        return None


def _existing_spans(station_ids: list[int]) -> dict[int, list[tuple[int, int, int]]]:
    spans: dict[int, list[tuple[int, int, int]]] = {sid: [] for sid in station_ids}
    for chunk in _chunks(station_ids):
        for sid, weekday, opens, closes in OpeningSpan.objects.filter(
            station_id__in=chunk
        ).values_list("station_id", "weekday", "opens", "closes"):
            spans[sid].append((weekday, opens, closes))
    return spans


def _data_from(station: Station) -> StationData:
    return StationData(
        name=station.name, type=station.type, region_code=station.region_id, lat=station.lat,
        lng=station.lng, address=station.address, contact_name=station.contact_name,
        contact_phone=station.contact_phone, amenities=tuple(station.amenities),
        night_light=station.night_light, is_active=station.is_active,
    )


def _same(a: StationData, b: StationData) -> bool:
    return replace(a, amenities=tuple(sorted(set(a.amenities)))) == replace(
        b, amenities=tuple(sorted(set(b.amenities))))


def _plan(user: User, sheet: xlsx.SheetRows) -> list[_Planned]:
    """Check every row; return the plan or raise ImportInvalid listing every problem."""
    headers = {key: sheet.headers.get(key, str(xlsx.COLUMN_BY_KEY[key].header))
               for key in xlsx.COLUMN_BY_KEY}
    present = set(sheet.columns)
    problems: list[RowProblem] = []

    def problem(row: int, key: str, value, message) -> None:
        problems.append(RowProblem(row, headers[key], xlsx.cell_text(value)[:60], str(message)))

    # Existing stations named by the id column, in one pass.
    wanted_ids: dict[int, int] = {}  # id → first row naming it
    row_ids: dict[int, int | None] = {}
    for number, values in sheet.rows:
        raw = values.get("id")
        text = xlsx.cell_text(raw)
        if not text:
            row_ids[number] = None
            continue
        if not text.isdigit() or int(text) <= 0:
            problem(number, "id", raw, _("编号应为正整数；新建的阵地请留空。"))
            row_ids[number] = -1
            continue
        station_id = int(text)
        if station_id in wanted_ids:
            problem(number, "id", raw, _("编号 %(id)d 在第 %(row)d 行已经出现过。")
                    % {"id": station_id, "row": wanted_ids[station_id]})
            row_ids[number] = -1
            continue
        wanted_ids[station_id] = number
        row_ids[number] = station_id
    existing: dict[int, Station] = {}
    for chunk in _chunks(list(wanted_ids)):
        existing.update(
            (s.pk, s) for s in Station.objects.visible_to(user).filter(pk__in=chunk)
            .select_related("region")
        )
    spans_before = _existing_spans(list(existing))

    types, amenity_aliases = _aliases()
    planned: list[_Planned] = []
    for number, values in sheet.rows:
        station_id = row_ids[number]
        if station_id == -1:
            continue
        station = None
        if station_id is not None:
            station = existing.get(station_id)
            if station is None:
                problem(number, "id", values.get("id"),
                        _("找不到编号为 %(id)d 的服务阵地，或它不在您的管辖范围内。")
                        % {"id": station_id})
                continue
        before = len(problems)
        data = _data_from(station) if station else StationData(
            name="", type="", region_code="", lat=0.0, lng=0.0)

        for key in ("name", "address", "contact_name", "contact_phone"):
            if key in present:
                text = xlsx.cell_text(values.get(key))
                if len(text) > MAX_LENGTHS[key]:
                    problem(number, key, text, _("不能超过 %(n)d 个字。") % {"n": MAX_LENGTHS[key]})
                setattr(data, key, text)
        if "region" in present:
            data.region_code = xlsx.cell_text(values.get("region"))
            if not data.region_code:
                problem(number, "region", "", _("请填写区划代码。"))
        if "type" in present:
            text = xlsx.cell_text(values.get("type"))
            data.type = types.get(text.lower(), "")
            if not data.type:
                problem(number, "type", text,
                        _("类型应为：%(choices)s。")
                        % {"choices": "、".join(str(label) for label in StationType.labels)})
        for key in ("lat", "lng"):
            if key in present:
                raw = values.get(key)
                number_value = _number(raw)
                if number_value is None:
                    problem(number, key, raw, _("应填写数字（WGS-84 坐标）。"))
                else:
                    setattr(data, key, number_value)
        if "amenities" in present:
            text = xlsx.cell_text(values.get("amenities"))
            codes, unknown = [], []
            for part in _LIST_SEPARATORS.split(text):
                part = part.strip()
                if not part:
                    continue
                code = amenity_aliases.get(part.lower())
                (codes if code else unknown).append(code or part)
            if unknown:
                problem(number, "amenities", text,
                        _("未知的设施：%(names)s（见“填写说明”表里的设施列表）。")
                        % {"names": "、".join(unknown)})
            data.amenities = tuple(dict.fromkeys(codes))
        for key, default in (("night_light", False), ("is_active", True)):
            if key in present:
                text = xlsx.cell_text(values.get(key))
                flag = _bool(text, default)
                if flag is None:
                    problem(number, key, text, _("请填“是”或“否”。"))
                else:
                    setattr(data, key, flag)

        old_spans = spans_before.get(station_id, []) if station else []
        spans: list[tuple[int, int, int]] = []
        for weekday, key in enumerate(xlsx.WEEKDAY_KEYS):
            if key not in present:
                spans += [s for s in old_spans if s[0] == weekday]
                continue
            raw = values.get(key)
            try:
                spans += [(weekday, o, c) for o, c in parse_day_hours(xlsx.cell_text(raw))]
            except HoursTextError as error:
                problem(number, key, raw, error.message)
        hours_ok = len(problems) == before
        for weekday, message in overnight_overlaps(spans):
            key = xlsx.WEEKDAY_KEYS[weekday]
            problem(number, key, values.get(key), message)
        if hours_ok and len(problems) == before:
            try:  # the service's own check, in case it is stricter than the text format
                validate_spans(spans)
            except ServiceError as error:
                problem(number, "mon", values.get("mon"), error.message)

        region = None
        if len(problems) == before and station is not None and _same(
            data, _data_from(station)
        ) and sorted(spans) == sorted(old_spans):
            # Nothing changes for this row (the usual case when an export comes back):
            # it was valid when saved and stays in scope, so skip the per-row lookups.
            region = station.region
        elif len(problems) == before:
            try:
                region = validate_station_data(data)
            except ServiceError as error:
                key = ERROR_COLUMNS.get(error.code, "name")
                problem(number, key, values.get(key), error.message)
            else:
                if not in_scope(user, region.code):
                    problem(number, "region", data.region_code,
                            _("区划 %(code)s 不在您的管辖范围内。") % {"code": region.code})
        planned.append(_Planned(number, station_id, data, region, sorted(spans)))
    if problems:
        raise ImportInvalid(problems)
    return planned


def _snapshot(station: Station) -> tuple:
    return (station.name, station.type, station.region_id, station.address, station.lat,
            station.lng, station.contact_name, station.contact_phone, station.amenity_bits,
            station.night_light, station.is_active)


def stations_import(*, user: User, upload) -> ImportResult:
    """Create the rows without an id and update the rows with one, or change nothing.

    Raises xlsx.WorkbookRejected for a file that cannot be read, ImportInvalid listing
    every bad row, PermissionDenied for a role that may not edit stations.
    """
    _require_import_rights(user)
    sheet = xlsx.read_station_rows(upload)
    if not sheet.rows:
        raise ServiceError("import_empty", _("文件里没有任何数据行。"))
    planned = _plan(user, sheet)
    return _write(user, planned)


@transaction.atomic
def _write(user: User, planned: list[_Planned]) -> ImportResult:
    result = ImportResult()
    update_ids = [p.station_id for p in planned if p.station_id is not None]
    locked: dict[int, Station] = {}
    for chunk in _chunks(update_ids):
        locked.update(
            (s.pk, s)
            for s in Station.objects.visible_to(user).select_for_update().filter(pk__in=chunk)
        )
    vanished = [p for p in planned if p.station_id is not None and p.station_id not in locked]
    if vanished:  # deleted or moved out of scope while the file was being checked
        header = str(xlsx.COLUMN_BY_KEY["id"].header)
        raise ImportInvalid([
            RowProblem(p.row, header, str(p.station_id),
                       str(_("找不到编号为 %(id)d 的服务阵地，或它不在您的管辖范围内。")
                           % {"id": p.station_id}))
            for p in vanished
        ])
    spans_before = _existing_spans(list(locked))
    now = timezone.now()
    to_update: list[Station] = []
    new: list[tuple[Station, _Planned]] = []
    for plan in planned:
        if plan.station_id is None:
            station = Station()
            _apply(station, plan.data, plan.region)
            new.append((station, plan))
            continue
        station = locked[plan.station_id]
        before = _snapshot(station)
        _apply(station, plan.data, plan.region)
        hours_changed = sorted(spans_before[station.pk]) != plan.spans
        if _snapshot(station) == before and not hours_changed:
            result.unchanged += 1
            continue
        station.updated_at = now
        to_update.append(station)
        if hours_changed:
            _replace_spans(station, plan.spans)
        result.updated += 1
    if to_update:
        Station.objects.bulk_update(
            to_update,
            ["name", "type", "region", "lat", "lng", "h3_cell", "address", "contact_name",
             "contact_phone", "amenity_bits", "night_light", "is_active", "updated_at"],
            batch_size=500,
        )
    if new:
        stations = [station for station, _plan in new]
        for station in stations:
            station.updated_at = now
        if connection.features.can_return_rows_from_bulk_insert:
            Station.objects.bulk_create(stations, batch_size=500)
        else:
            for station in stations:
                station.save()
        OpeningSpan.objects.bulk_create(
            (OpeningSpan(station=station, weekday=w, opens=o, closes=c)
             for station, plan in new for w, o, c in plan.spans),
            batch_size=2000,
        )
        result.created = len(new)
    result.station_ids = [s.pk for s, _p in new] + [s.pk for s in to_update]
    if result.created or result.updated:
        bump_index_version(result.station_ids)
    audit(actor=user, action="stations.import.applied", obj_type="station_import", obj_id="-",
          created=result.created, updated=result.updated, unchanged=result.unchanged)
    return result


# --- export ------------------------------------------------------------------------------

def _row_for(station: Station, spans: list[tuple[int, int, int]]) -> dict:
    per_day: dict[int, list[tuple[int, int]]] = {}
    for weekday, opens, closes in spans:
        per_day.setdefault(weekday, []).append((opens, closes))
    row = {
        "id": station.pk, "name": station.name, "type": str(station.get_type_display()),
        "region": station.region_id, "address": station.address, "lat": station.lat,
        "lng": station.lng, "contact_name": station.contact_name,
        "contact_phone": station.contact_phone,
        "amenities": "、".join(amenity_label(c) for c in codes_for(station.amenity_bits)),
        "night_light": str(xlsx.YES if station.night_light else xlsx.NO),
        "is_active": str(xlsx.YES if station.is_active else xlsx.NO),
    }
    for weekday, key in enumerate(xlsx.WEEKDAY_KEYS):
        row[key] = format_day_hours(per_day.get(weekday, []))
    return row


def _export_rows(user: User) -> Iterable[dict]:
    ids = list(Station.objects.visible_to(user).order_by("region_id", "name", "pk")
               .values_list("pk", flat=True))
    for chunk in _chunks(ids, 2000):
        stations = Station.objects.in_bulk(chunk)
        spans = _existing_spans(chunk)
        for sid in chunk:
            yield _row_for(stations[sid], spans[sid])


def _regions_for(user: User, limit: int = 20_000) -> list[tuple[str, str, str]]:
    return [(r.code, r.name, str(r.get_level_display()))
            for r in Region.objects.visible_to(user).only("code", "name", "level")[:limit]]


def stations_export(*, user: User) -> bytes:
    """Every station in the user's scope, in the import format."""
    return xlsx.write_workbook(_export_rows(user), regions=_regions_for(user))


def stations_template(*, user: User) -> bytes:
    """An empty workbook with the columns, the explanations and the region codes."""
    return xlsx.write_workbook([], regions=_regions_for(user))

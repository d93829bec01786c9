"""The stations workbook: one sheet of stations, one explaining the columns, one of region
codes. Export, template and import all use the same columns, so export → edit → import
round-trips.

This module only reads and writes cells; what a row means is decided in imports.py.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from nuanxin.common import exports
from nuanxin.common.errors import ServiceError
from nuanxin.stations.amenities import AMENITIES
from nuanxin.stations.models import StationType

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_ROWS = 25_000
# A 5 MB .xlsx is a zip; refuse archives that would inflate past this (zip bombs).
MAX_UNCOMPRESSED_BYTES = 150 * 1024 * 1024
XLSX_CONTENT_TYPE = exports.XLSX_CONTENT_TYPE

YES, NO = _("是"), _("否")
WEEKDAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # lazy, Chinese source
    width: int
    text: bool = False  # stored as text so Excel keeps leading zeros and long codes
    required: bool = False
    help: str = ""


COLUMNS: list[Column] = [
    Column("id", _("编号"), 8,
           help=_("已有阵地的编号；留空表示新建。导出文件里已填好，不要改动。")),
    Column("name", _("名称"), 30, required=True, help=_("服务阵地名称，必填。")),
    Column("type", _("类型"), 14, required=True,
           help=_("党群服务中心、驿站 或 合作服务点。")),
    Column("region", _("区划代码"), 16, text=True, required=True,
           help=_("所在社区、街道或区县的行政区划代码（见“区划代码”表），必须在您的管辖范围内。")),
    Column("address", _("地址"), 36, help=_("门牌地址，可留空。")),
    Column("lat", _("纬度 (WGS-84)"), 14, required=True,
           help=_("WGS-84 纬度（GPS 原始坐标，不是高德/腾讯的 GCJ-02），例如 29.3152。")),
    Column("lng", _("经度 (WGS-84)"), 14, required=True,
           help=_("WGS-84 经度，例如 120.0786。坐标必须落在所选区划的区县内。")),
    Column("contact_name", _("联系人"), 10, help=_("可留空。")),
    Column("contact_phone", _("联系电话"), 14, text=True, help=_("可留空。")),
    Column("amenities", _("设施"), 40,
           help=_("用顿号或逗号分隔，填中文名称或代码（见下方设施表），例如 热水、手机充电。")),
    Column("night_light", _("夜间亮灯"), 10, help=_("是 或 否；留空为否。")),
    Column("is_active", _("启用"), 8, help=_("是 或 否；留空为是。")),
] + [
    Column(key, label, 16, text=True,
           help=_("营业时间，例如 08:30-20:30；多个时段用逗号分隔（08:30-12:00, 14:00-20:00）；"
                  "跨夜写 16:00-02:00；全天写 00:00-24:00；留空表示当天休息。"))
    for key, label in zip(
        WEEKDAY_KEYS,
        [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")],
        strict=True,
    )
]
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}


def _normalize_header(text: str) -> str:
    text = re.sub(r"[（(].*?[)）]", "", str(text))
    return re.sub(r"[\s*＊]", "", text).lower()


def header_aliases() -> dict[str, str]:
    """Normalised header text → column key, in every language the site speaks, plus the
    keys themselves, so a file exported in English imports in Chinese and vice versa."""
    aliases = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            for column in COLUMNS:
                aliases[_normalize_header(str(column.header))] = column.key
    for column in COLUMNS:
        aliases[column.key] = column.key
    return aliases


# --- reading -----------------------------------------------------------------------------

@dataclass
class SheetRows:
    columns: dict[str, int]  # column key → 0-based index in the sheet
    headers: dict[str, str]  # column key → header text as written in the file
    rows: list[tuple[int, dict[str, object]]]  # (row number in Excel, key → raw value)


class WorkbookRejected(ServiceError):
    """The file as a whole cannot be read; no row was looked at."""


def _check_archive(data: bytes, filename: str) -> None:
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise WorkbookRejected(
            "xls_not_supported",
            _("这是旧版 Excel (.xls) 文件，请在 Excel 中“另存为” .xlsx 后再上传。"))
    not_xlsx = WorkbookRejected(
        "not_xlsx",
        _("“%(name)s”不是 Excel .xlsx 文件。请下载模板，填好后保存为 .xlsx 再上传。")
        % {"name": filename or "?"})
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise not_xlsx from None
    names = set(archive.namelist())
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise not_xlsx
    if sum(info.file_size for info in archive.infolist()) > MAX_UNCOMPRESSED_BYTES:
        raise WorkbookRejected("file_too_large", _("文件内容过大，请分成几个文件上传。"))


def read_station_rows(upload) -> SheetRows:
    """Read the first sheet of an uploaded .xlsx. Raises WorkbookRejected."""
    filename = getattr(upload, "name", "") or ""
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise WorkbookRejected(
            "file_too_large",
            _("文件不能超过 %(mb)d MB。") % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)})
    data = upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise WorkbookRejected(
            "file_too_large",
            _("文件不能超过 %(mb)d MB。") % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)})
    if not data:
        raise WorkbookRejected("empty_file", _("上传的文件是空的。"))
    _check_archive(data, filename)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors on damaged files
        raise WorkbookRejected("unreadable_xlsx",
                               _("无法读取这个 Excel 文件，它可能已损坏。")) from None
    try:
        return _read_sheet(workbook.worksheets[0])
    finally:
        workbook.close()


def _read_sheet(sheet) -> SheetRows:
    rows_iter = sheet.iter_rows(values_only=True)
    header = next(rows_iter, None)
    if not header or not any(v not in (None, "") for v in header):
        raise WorkbookRejected("missing_header", _("第一行应是列名（请使用下载的模板）。"))
    aliases = header_aliases()
    columns: dict[str, int] = {}
    headers: dict[str, str] = {}
    for index, value in enumerate(header):
        if value in (None, ""):
            continue
        key = aliases.get(_normalize_header(value))
        if key is None:
            continue  # extra columns (notes) are allowed and ignored
        if key in columns:
            raise WorkbookRejected(
                "duplicate_column", _("列“%(name)s”出现了两次。") % {"name": str(value).strip()})
        columns[key] = index
        headers[key] = str(value).strip()
    missing = [str(c.header) for c in COLUMNS if c.required and c.key not in columns]
    if missing:
        raise WorkbookRejected(
            "missing_columns",
            _("缺少必填的列：%(names)s。请使用下载的模板。") % {"names": "、".join(missing)},
            details={"missing": missing})
    rows = []
    for number, values in enumerate(rows_iter, start=2):
        if not values or all(v is None or (isinstance(v, str) and not v.strip())
                             for v in values):
            continue
        if len(rows) >= MAX_ROWS:
            raise WorkbookRejected(
                "too_many_rows",
                _("一次最多导入 %(max)d 行，请分成几个文件。") % {"max": MAX_ROWS})
        rows.append((number, {key: values[i] if i < len(values) else None
                              for key, i in columns.items()}))
    return SheetRows(columns=columns, headers=headers, rows=rows)


def cell_text(value) -> str:
    """A cell as the text a person sees: 330782001001.0 → '330782001001', 8:30 → '08:30'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(YES if value else NO)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        value = value.time()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return str(value).strip()


# --- writing -----------------------------------------------------------------------------

def _add_validations(sheet, last_row: int) -> None:
    types = ",".join(str(label) for label in StationType.labels)
    yes_no = f"{YES},{NO}"
    letter = {c.key: get_column_letter(i + 1) for i, c in enumerate(COLUMNS)}
    for key, formula, message in [
        ("type", types, _("请从列表中选择类型。")),
        ("night_light", yes_no, _("请填“是”或“否”。")),
        ("is_active", yes_no, _("请填“是”或“否”。")),
    ]:
        validation = DataValidation(type="list", formula1=f'"{formula}"', allow_blank=True,
                                    showErrorMessage=True, error=str(message))
        validation.add(f"{letter[key]}2:{letter[key]}{last_row}")
        sheet.data_validations.append(validation)


def write_workbook(rows: Iterable[dict], *, regions: Iterable[tuple[str, str, str]] = (),
                   validation_rows: int = MAX_ROWS + 1) -> bytes:
    """The stations sheet with `rows` (dicts keyed by column key), a sheet explaining the
    columns and amenity codes, and a sheet of region codes (code, name, level label)."""
    book = exports.ExportBook()
    sheet = book.sheet(_("服务阵地"), [exports.Column(c.header, c.width, text=c.text)
                                       for c in COLUMNS], freeze="C2")
    _add_validations(sheet.worksheet, validation_rows)
    for values in rows:
        sheet.append([values.get(column.key) for column in COLUMNS])

    help_sheet = book.sheet(_("填写说明"), [exports.Column(_("列名"), 18),
                                          exports.Column(_("说明"), 90)])
    for column in COLUMNS:
        required = str(_("（必填）")) if column.required else ""
        help_sheet.append([column.header, f"{column.help}{required}"])
    help_sheet.append([])
    help_sheet.append([_("导入规则")], bold=True)
    for line in [
        _("编号为空的行新建阵地；有编号的行更新该阵地。"),
        _("只要有一行有错，整个文件都不会导入，页面会列出每一个出错的行、列和原因。"),
        _("一次最多 %(rows)d 行，文件不超过 %(mb)d MB。")
        % {"rows": MAX_ROWS, "mb": MAX_UPLOAD_BYTES // (1024 * 1024)},
        _("更新时，文件里没有的列保持原值；有这一列但留空的营业时间表示当天休息。"),
    ]:
        help_sheet.append(["", line])
    help_sheet.append([])
    help_sheet.append([_("设施代码"), _("中文名称")], bold=True)
    for code, (_bit, label) in AMENITIES.items():
        help_sheet.append([code, label])
    help_sheet.append([])
    help_sheet.append([_("类型"), _("说明")], bold=True)
    for value, label in StationType.choices:
        help_sheet.append([label, value])

    region_sheet = book.sheet(_("区划代码"), [
        exports.Column(_("区划代码"), 16, text=True), exports.Column(_("名称"), 24),
        exports.Column(_("级别"), 10)])
    for code, name, level in regions:
        region_sheet.append([code, name, level])
    return book.to_bytes()

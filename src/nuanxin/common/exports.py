"""One way to write a spreadsheet and one way to hand a file over.

Staff open what we export in Excel or WPS, so whatever a person typed must arrive as the
text they typed: never a live formula (`=HYPERLINK(...)` in a need's title would run in
the secretary's Excel), never a broken file (a control character is illegal in the XML
inside an .xlsx). Every export goes through `ExportBook`, and every download through
`download_response`, so these rules live in one place.

    book = ExportBook()
    sheet = book.sheet(_("需求清单"), [Column(_("编号"), 9), Column(_("标题"), 36)])
    sheet.append([need.pk, need.title])
    return xlsx_response(book.to_bytes(), filename=_("需求清单") + ".xlsx")
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpResponse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.functional import Promise
from django.utils.http import content_disposition_header
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# What Excel, WPS and LibreOffice take as the start of a formula when a cell is edited or
# the text is pasted elsewhere (OWASP "CSV injection"); tab and CR hide a leading "=".
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="F0F2F5")
_TOP = Alignment(vertical="top")


def clean_text(value: str) -> str:
    """Text without the control characters XML (and so .xlsx) cannot carry."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def local_time(value: datetime) -> datetime:
    """A stored (UTC) moment as the naive Asia/Shanghai time Excel shows, to the second
    (Excel keeps milliseconds at best)."""
    if value.tzinfo is not None:
        value = value.astimezone(ZoneInfo(settings.TIME_ZONE))
    return value.replace(tzinfo=None, microsecond=0)


def cell(sheet, value: Any, *, text: bool = False, bold: bool = False,
         number_format: str | None = None) -> WriteOnlyCell:
    """One cell holding `value` safely.

    Text is always a string cell (never a formula); text that starts like a formula also
    carries Excel's quote prefix, so editing the cell does not turn it into one either.
    `text=True` writes any value as text (region codes keep their digits, "08:30" stays).
    Aware datetimes become Asia/Shanghai times formatted as such; dates become dates.
    """
    if isinstance(value, Promise):
        value = str(value)
    if text and value is not None and not isinstance(value, str):
        value = str(value)
    if value is not None and not isinstance(value, (str, int, float, Decimal, date)):
        value = str(value)  # bool is an int; anything else (a UUID, an enum) as its text
    if isinstance(value, datetime):
        value = local_time(value)
        number_format = number_format or DATETIME_FORMAT
    elif isinstance(value, date):
        number_format = number_format or DATE_FORMAT
    formula_like = False
    if isinstance(value, str):
        value = clean_text(value)
        formula_like = value.startswith(FORMULA_STARTS)
    result = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        result.data_type = "s"
        if formula_like:
            result.quotePrefix = True
    if text:
        result.number_format = "@"
    elif number_format:
        result.number_format = number_format
    if bold:
        result.font = _HEADER_FONT
    return result


@dataclass(frozen=True)
class Column:
    header: Any  # a (lazy) translatable string, or text from the data (a question)
    width: float = 12
    text: bool = False  # always text: codes, phone-like numbers, times of day


class ExportSheet:
    """A sheet with a bold, frozen header row and set column widths; rows go in with
    `append`, each value through `cell`."""

    def __init__(self, book: Workbook, title: Any, columns: Iterable[Column], *,
                 freeze: str = "A2") -> None:
        self._sheet = book.create_sheet(clean_text(str(title))[:31])
        self.columns = list(columns)
        for index, column in enumerate(self.columns, start=1):
            self._sheet.column_dimensions[get_column_letter(index)].width = column.width
        if freeze:
            self._sheet.freeze_panes = freeze
        if self.columns:
            header = []
            for column in self.columns:
                head = cell(self._sheet, column.header, bold=True)
                head.fill = _HEADER_FILL
                header.append(head)
            self._sheet.append(header)

    @property
    def worksheet(self):
        """The openpyxl sheet, for what only some exports need (data validations)."""
        return self._sheet

    def append(self, values: Iterable[Any], *, fill: PatternFill | None = None,
               bold: bool = False) -> None:
        row = []
        for index, value in enumerate(values):
            text = index < len(self.columns) and self.columns[index].text
            one = cell(self._sheet, value, text=text, bold=bold)
            one.alignment = _TOP
            if fill is not None:
                one.fill = fill
            row.append(one)
        self._sheet.append(row)


class ExportBook:
    """A write-only workbook (rows stream out, memory stays flat) of `ExportSheet`s."""

    def __init__(self) -> None:
        self._book = Workbook(write_only=True)
        # openpyxl names itself the author; say who made the file instead.
        self._book.properties.creator = "Nuanxin"

    def sheet(self, title: Any, columns: Iterable[Column], *,
              freeze: str = "A2") -> ExportSheet:
        return ExportSheet(self._book, title, columns, freeze=freeze)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self._book.save(buffer)
        return buffer.getvalue()


def download_response(content: bytes | str, *, filename: Any, content_type: str,
                      personal: bool = True, inline: bool = False) -> HttpResponse:
    """A file for the browser to save as `filename` (Chinese names survive: RFC 5987), or
    with `inline` one to show.

    `personal` files (anything about people, or a printed poster's signed address) are
    never stored by a browser or a shared cache.
    """
    response = HttpResponse(content, content_type=content_type)
    if not inline:  # shown in the page (a poster's preview): the browser names nothing
        response["Content-Disposition"] = content_disposition_header(
            True, clean_text(str(filename)).replace("/", "-").replace("\\", "-"))
    if personal:
        add_never_cache_headers(response)
        patch_cache_control(response, private=True)
    return response


def xlsx_response(content: bytes, *, filename: Any, personal: bool = True) -> HttpResponse:
    return download_response(content, filename=filename, content_type=XLSX_CONTENT_TYPE,
                             personal=personal)

"""The needs list as an .xlsx workbook for staff (who live in Excel). No phone numbers and
no names: a need's raisers appear only as a count."""

from __future__ import annotations

import io
from collections import defaultdict
from itertools import islice

from django.db.models import Avg, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from nuanxin.geo.models import Region
from nuanxin.needs.models import Need, NeedFeedback

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 100_000
CHUNK = 2000


# (header, column width); headers are translated when the workbook is written.
COLUMNS = [
    (_("编号"), 9), (_("标题"), 36), (_("类别"), 10), (_("来源"), 10), (_("状态"), 12),
    (_("紧急程度"), 9), (_("区县"), 12), (_("街道"), 14), (_("社区"), 16), (_("区划代码"), 14),
    (_("责任单位"), 24), (_("反映人数"), 9), (_("提交时间"), 17), (_("受理时间"), 17),
    (_("目标日期"), 11), (_("逾期"), 6), (_("升级次数"), 9), (_("解决时间"), 17),
    (_("结果说明"), 40), (_("满意度"), 8), (_("描述"), 50),
]


def _columns():
    return [(str(title), width) for title, width in COLUMNS]


def _local(value):
    return timezone.localtime(value).replace(tzinfo=None) if value else None


def _names(codes: set[str]) -> dict[str, str]:
    return dict(Region.objects.filter(code__in=codes).values_list("code", "name"))


def needs_workbook(needs: QuerySet[Need]) -> bytes:
    """One sheet of needs in the order given (already scoped and filtered by the caller)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(gettext("需求清单"))
    columns = _columns()
    for index, (_title, width) in enumerate(columns):
        sheet.column_dimensions[get_column_letter(index + 1)].width = width
    sheet.freeze_panes = "B2"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="F0F2F5")
    header = []
    for title, _width in columns:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font, cell.fill = bold, fill
        header.append(cell)
    sheet.append(header)
    overdue_fill = PatternFill("solid", fgColor="FDECEA")
    wrap = Alignment(wrap_text=False, vertical="top")
    rows = needs.select_related("owner")[:MAX_ROWS].iterator(chunk_size=CHUNK)
    # Read in chunks: region names and ratings per chunk, so memory stays flat.
    while chunk := list(islice(rows, CHUNK)):
        codes = set()
        for need in chunk:
            codes.update({need.region_id[:6], need.region_id[:9], need.region_id})
        names = _names(codes)
        scores = defaultdict(lambda: None, NeedFeedback.objects.filter(
            need_id__in=[n.pk for n in chunk]).values("need_id").annotate(avg=Avg("score"))
            .values_list("need_id", "avg"))
        for need in chunk:
            code = need.region_id
            overdue = bool(getattr(need, "is_overdue", False))
            values = [
                need.pk, need.title, need.get_category_display(), need.get_source_display(),
                need.get_status_display(), need.get_urgency_display(),
                names.get(code[:6], ""), names.get(code[:9], "") if len(code) >= 9 else "",
                names.get(code, "") if len(code) == 12 else "", code, need.owner.name,
                need.raised_count, _local(need.created_at), _local(need.accepted_at),
                need.target_date, gettext("是") if overdue else "", need.escalation_level or "",
                _local(need.resolved_at), need.outcome,
                round(scores[need.pk], 2) if scores[need.pk] is not None else None,
                need.description,
            ]
            cells = []
            for value in values:
                cell = WriteOnlyCell(sheet, value=value)
                if hasattr(value, "hour"):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif hasattr(value, "day"):
                    cell.number_format = "yyyy-mm-dd"
                cell.alignment = wrap
                if overdue:
                    cell.fill = overdue_fill
                cells.append(cell)
            sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

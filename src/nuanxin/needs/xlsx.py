"""The needs list as an .xlsx workbook for staff (who live in Excel). No phone numbers and
no names: a need's raisers appear only as a count. Written through common.exports, so a
title typed as `=HYPERLINK(...)` stays text."""

from __future__ import annotations

from collections import defaultdict
from itertools import islice

from django.db.models import Avg, QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from openpyxl.styles import PatternFill

from nuanxin.common.exports import Column, ExportBook
from nuanxin.common.manifest import reference_titles
from nuanxin.geo.models import Region
from nuanxin.needs.models import Need, NeedFeedback

MAX_ROWS = 100_000
CHUNK = 2000

COLUMNS = [
    Column(_("编号"), 9), Column(_("标题"), 36), Column(_("类别"), 10),
    Column(_("来源"), 10), Column(_("状态"), 12), Column(_("紧急程度"), 9),
    Column(_("区县"), 12), Column(_("街道"), 14), Column(_("社区"), 16),
    Column(_("区划代码"), 14, text=True), Column(_("责任单位"), 24), Column(_("反映人数"), 9),
    Column(_("提交时间"), 17), Column(_("受理时间"), 17), Column(_("目标日期"), 11),
    Column(_("逾期"), 6), Column(_("升级次数"), 9), Column(_("解决时间"), 17),
    Column(_("结果说明"), 40), Column(_("满意度"), 8), Column(_("并入需求"), 10),
    Column(_("所属项目"), 24), Column(_("描述"), 50),
]
_OVERDUE_FILL = PatternFill("solid", fgColor="FDECEA")


def _names(codes: set[str]) -> dict[str, str]:
    return dict(Region.objects.filter(code__in=codes).values_list("code", "name"))


def needs_workbook(needs: QuerySet[Need]) -> bytes:
    """One sheet of needs in the order given (already scoped and filtered by the caller)."""
    book = ExportBook()
    sheet = book.sheet(gettext("需求清单"), COLUMNS, freeze="B2")
    rows = needs.select_related("owner")[:MAX_ROWS].iterator(chunk_size=CHUNK)
    # Read in chunks: region names, ratings and project names per chunk, so memory stays flat.
    while chunk := list(islice(rows, CHUNK)):
        codes = set()
        for need in chunk:
            codes.update({need.region_id[:6], need.region_id[:9], need.region_id})
        names = _names(codes)
        scores = defaultdict(lambda: None, NeedFeedback.objects.filter(
            need_id__in=[n.pk for n in chunk]).values("need_id").annotate(avg=Avg("score"))
            .values_list("need_id", "avg"))
        projects = reference_titles(need.project_ref for need in chunk)
        for need in chunk:
            code = need.region_id
            overdue = bool(getattr(need, "is_overdue", False))
            sheet.append([
                need.pk, need.title, need.get_category_display(), need.get_source_display(),
                need.get_status_display(), need.get_urgency_display(),
                names.get(code[:6], ""), names.get(code[:9], "") if len(code) >= 9 else "",
                names.get(code, "") if len(code) == 12 else "", code, need.owner.name,
                need.raised_count, need.created_at, need.accepted_at,
                need.target_date, gettext("是") if overdue else "", need.escalation_level or "",
                need.resolved_at, need.outcome,
                round(scores[need.pk], 2) if scores[need.pk] is not None else None,
                need.merged_into_id,
                projects.get(need.project_ref, ""), need.description,
            ], fill=_OVERDUE_FILL if overdue else None)
    return book.to_bytes()

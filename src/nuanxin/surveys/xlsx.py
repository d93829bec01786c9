"""The results workbook: one row per response, and a sheet of per-question counts.

No names and no phone numbers in it. An identified survey has a respondent number (the
internal account number, which a staff member can look up only within their own scope);
an anonymous survey has no respondent column at all and only the day of each answer.
Rows come in the order of the responses' random keys, which says nothing about who
answered when.
"""

from __future__ import annotations

import io

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from nuanxin.common.errors import ServiceError
from nuanxin.surveys.models import Answer, QuestionKind, Response, Survey
from nuanxin.surveys.selectors import (
    MIN_ANONYMOUS_RESPONSES,
    questions_of,
    survey_results,
)

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 5000


def _cell(ws, value, *, bold: bool = False):
    """A cell that shows exactly the text typed: no formula, no illegal XML characters."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # a respondent's "=..." is text, never a formula
    if bold:
        cell.font = Font(bold=True)
    return cell


def _value(question, parts: list) -> str | int | None:
    if not parts:
        return None
    if question.kind == QuestionKind.RATING:
        return parts[0]
    return "；".join(str(p) for p in parts)


def survey_workbook(survey: Survey) -> bytes:
    results = survey_results(survey)
    if results.withheld:
        raise ServiceError("results_withheld",
                           _("匿名问卷至少有 %(n)d 份答卷后才能导出。")
                           % {"n": MIN_ANONYMOUS_RESPONSES}, status=409)
    questions = questions_of(survey)
    labels = {o.pk: o.label for q in questions for o in q.options.all()}
    option_rank = {o.pk: o.position for q in questions for o in q.options.all()}
    column = {q.pk: i for i, q in enumerate(questions)}
    other_prefix = _("其他：")

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("答卷"))
    head = [_("序号")]
    if not survey.anonymous:
        head.append(_("答卷人编号"))
    head.append(_("提交日期") if survey.anonymous else _("提交时间"))
    head += [f"{q.position}. {q.text}" for q in questions]
    sheet.append([_cell(sheet, h, bold=True) for h in head])

    responses = Response.objects.filter(survey=survey).order_by("pk")
    if survey.anonymous:
        response_rows = responses.values_list("pk", "submitted_on").iterator(chunk_size=CHUNK)
    else:
        response_rows = responses.values_list("pk", "respondent_id", "submitted_at").iterator(
            chunk_size=CHUNK)
    answers = (Answer.objects.filter(response__survey=survey).order_by("response_id")
               .values_list("response_id", "question_id", "option_id", "number", "text")
               .iterator(chunk_size=CHUNK))
    pending = next(answers, None)
    for number, row in enumerate(response_rows, start=1):
        response_id = row[0]
        parts: list[list] = [[] for _q in questions]
        while pending is not None and pending[0] == response_id:
            _rid, qid, option_id, value, text = pending
            if option_id is not None:
                parts[column[qid]].append((option_rank[option_id], labels[option_id]))
            elif value is not None:
                parts[column[qid]].append((0, value))
            else:
                kind = questions[column[qid]].kind
                parts[column[qid]].append(
                    (10_000, text if kind == QuestionKind.TEXT else f"{other_prefix}{text}"))
            pending = next(answers, None)
        cells = [number]
        if survey.anonymous:
            cells.append(row[1])
        else:
            cells += [row[1], timezone.localtime(row[2]).replace(tzinfo=None)]
        cells += [_value(q, [p for _r, p in sorted(parts[i], key=lambda x: x[0])])
                  for i, q in enumerate(questions)]
        sheet.append([_cell(sheet, v) for v in cells])

    summary = book.create_sheet(_("统计"))
    summary.append([_cell(summary, h, bold=True) for h in (
        _("题目"), _("选项"), _("人数"), _("占答题人数 %"), _("答题人数"), _("显示人数"))])
    for result in results.questions:
        q = result.question
        title = f"{q.position}. {q.text}"
        if not result.buckets:
            summary.append([_cell(summary, v) for v in (
                title, _("（填空）"), result.answered, None, result.answered, result.shown)])
        for bucket in result.buckets:
            summary.append([_cell(summary, v) for v in (
                title, bucket.label, bucket.count, bucket.percent, result.answered,
                result.shown)])
    summary.append([])
    summary.append([_cell(summary, _("答卷总数")), _cell(summary, results.responses)])

    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()

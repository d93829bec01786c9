"""The results workbook: one row per response, and a sheet of per-question counts.

No names and no phone numbers in it. An identified survey has a respondent number (the
internal account number, which a staff member can look up only within their own scope);
an anonymous survey has no respondent column at all, only the week of each answer (its
Monday), and only the answers already counted in the results (whole batches). Rows come
in the order of the responses' random keys, which says nothing about who answered when.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils.translation import gettext as _

from nuanxin.common.errors import ServiceError
from nuanxin.common.exports import Column, ExportBook
from nuanxin.surveys.models import Answer, QuestionKind, Survey
from nuanxin.surveys.selectors import (
    MIN_ANONYMOUS_RESPONSES,
    counted_responses,
    questions_of,
    survey_results,
)

CHUNK = 5000


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

    book = ExportBook()
    head = [Column(_("序号"), 6)]
    if not survey.anonymous:
        head.append(Column(_("答卷人编号"), 10))
    head.append(Column(_("提交周（周一）"), 13) if survey.anonymous
                else Column(_("提交时间"), 17))
    head += [Column(f"{q.position}. {q.text}", 24) for q in questions]
    sheet = book.sheet(_("答卷"), head)

    responses = counted_responses(survey).order_by("pk")
    if survey.anonymous:
        response_rows = responses.values_list("pk", "submitted_on").iterator(chunk_size=CHUNK)
    else:
        response_rows = responses.values_list("pk", "respondent_id", "submitted_at").iterator(
            chunk_size=CHUNK)
    answers = (Answer.objects.filter(response__survey=survey, response__released=True)
               .order_by("response_id")
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
            cells.append(row[1] - timedelta(days=row[1].weekday()))
        else:
            cells += [row[1], row[2]]
        cells += [_value(q, [p for _r, p in sorted(parts[i], key=lambda x: x[0])])
                  for i, q in enumerate(questions)]
        sheet.append(cells)

    summary = book.sheet(_("统计"), [
        Column(_("题目"), 36), Column(_("选项"), 24), Column(_("人数"), 8),
        Column(_("占答题人数 %"), 12), Column(_("答题人数"), 10), Column(_("显示人数"), 10)])
    for result in results.questions:
        q = result.question
        title = f"{q.position}. {q.text}"
        if not result.buckets:
            summary.append((
                title, _("（填空）"), result.answered, None, result.answered, result.shown))
        for bucket in result.buckets:
            summary.append((
                title, bucket.label, bucket.count, bucket.percent, result.answered,
                result.shown))
    summary.append([])
    summary.append([_("答卷总数"), results.responses], bold=True)
    return book.to_bytes()

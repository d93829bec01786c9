"""Survey results, aggregated by the database (GROUP BY), never response by response.

Denominators are honest:
- `shown`: respondents the question was shown to (all of them, or for a conditional
  question those whose earlier answer showed it);
- `answered`: respondents who answered it (an optional question can be skipped);
- option percentages are of `answered` respondents, so the options of a multiple-choice
  question can add up to more than 100 %: they count people, not ticks.

A results page costs a fixed handful of queries whatever the number of answers: the
questions, the response count, one GROUP BY over the answers, one for the respondents
of multiple-choice questions and one for the conditional questions' `shown`.

An anonymous survey counts answers in batches: an answer is `released` into the results
(page, API, texts, cross-tabs, export) only together with RESULTS_BATCH - 1 others, so
nobody can watch the results move by one person's answer, and a survey shows nothing
before its first batch (docs/decisions/0004).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from nuanxin.common.errors import ServiceError
from nuanxin.surveys.models import (
    RESULTS_BATCH,
    Answer,
    Question,
    QuestionKind,
    Response,
    Survey,
    SurveyNeed,
)
from nuanxin.surveys.selectors.surveys import questions_of

MIN_ANONYMOUS_RESPONSES = RESULTS_BATCH
CROSSTAB_KINDS = (QuestionKind.SINGLE, QuestionKind.MULTIPLE, QuestionKind.RATING)
OTHER_KEY = "other"


RESULTS_CACHE_SECONDS = 600


def counted_responses(survey: Survey):
    """The responses results are made of: all of an identified survey's, the released
    batches of an anonymous one."""
    return Response.objects.filter(survey=survey, released=True)


def _counted_answers(survey: Survey, **filters):
    answers = Answer.objects.filter(**filters)
    return answers.filter(response__released=True) if survey.anonymous else answers


def percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


@dataclass
class Bucket:
    key: object  # option id, rating value, or "other"
    label: str
    count: int = 0
    percent: float = 0.0
    need_category: str = ""
    need_id: int | None = None
    option_id: int | None = None


@dataclass
class QuestionResult:
    question: Question
    shown: int = 0
    answered: int = 0
    buckets: list[Bucket] = field(default_factory=list)
    mean: float | None = None
    text_count: int = 0

    @property
    def skipped(self) -> int:
        return self.shown - self.answered

    @property
    def answered_percent(self) -> float:
        return percent(self.answered, self.shown)


@dataclass
class SurveyResults:
    survey: Survey
    responses: int
    withheld: bool
    questions: list[QuestionResult]


def buckets_for(question: Question) -> list[Bucket]:
    """The empty buckets of a question, in display order."""
    if question.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        buckets = [Bucket(o.pk, o.label, need_category=o.need_category, option_id=o.pk)
                   for o in question.options.all()]
        if question.allow_other:
            buckets.append(Bucket(OTHER_KEY, str(_("其他（自填）"))))
        return buckets
    if question.kind == QuestionKind.RATING:
        return [Bucket(v, str(v)) for v in range(1, question.scale_max + 1)]
    return []


def _bucket_key(kind: str, option_id, number):
    if option_id is not None:
        return option_id
    if number is not None:
        return number
    return OTHER_KEY if kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE) else None


def _aggregates(survey: Survey, questions: list[Question], total: int):
    """The three SQL aggregations behind a results page, cached per number of responses.

    Responses are written whole (with their answers) in one transaction and never edited,
    so the count of responses names the state of the answers: a new answer, or a deleted
    account's, changes the key and the next view recomputes. Views in between (staff
    refreshing the page) read the cache instead of re-aggregating 100,000 answers.
    """
    # created_at too: a test database may hand a rolled-back survey's id to a new one.
    cache_key = (f"surveys:results:{survey.pk}:{survey.created_at.timestamp()}:{total}:"
                 f"{len(questions)}")
    cached = cache.get(cache_key)
    if cached is not None:
        return cached
    ids = [q.pk for q in questions]
    by_id = {q.pk: q for q in questions}
    counts: dict[int, dict] = {qid: {} for qid in ids}
    rows = (_counted_answers(survey, question_id__in=ids).order_by()
            .values_list("question_id", "option_id", "number").annotate(n=Count("*")))
    for qid, option_id, number, n in rows:
        key = _bucket_key(by_id[qid].kind, option_id, number)
        counts[qid][key] = counts[qid].get(key, 0) + n
    multiple = [q.pk for q in questions if q.kind == QuestionKind.MULTIPLE]
    respondents = dict(
        _counted_answers(survey, question_id__in=multiple).order_by().values("question_id")
        .annotate(n=Count("response_id", distinct=True)).values_list("question_id", "n")
    ) if multiple else {}
    conditional = [q for q in questions if q.show_if_id]
    shown_counts = _counted_answers(
        survey, question_id__in={q.show_if_id for q in conditional}).aggregate(**{
            f"q{q.pk}": Count("response_id", distinct=True, filter=Q(
                question_id=q.show_if_id,
                option_id__in=[o.pk for o in q.show_if_options.all()]))
            for q in conditional}) if conditional else {}
    cached = (counts, respondents, shown_counts)
    cache.set(cache_key, cached, RESULTS_CACHE_SECONDS)
    return cached


def survey_results(survey: Survey) -> SurveyResults:
    questions = questions_of(survey)
    total = counted_responses(survey).count()
    if survey.anonymous and total < MIN_ANONYMOUS_RESPONSES:
        return SurveyResults(survey, total, True, [])
    counts, respondents, shown_counts = _aggregates(survey, questions, total)
    needs = dict(SurveyNeed.objects.filter(survey=survey).values_list("option_id", "need_id"))
    results = []
    for q in questions:
        got = counts[q.pk]
        result = QuestionResult(q, shown=shown_counts.get(f"q{q.pk}", 0) if q.show_if_id
                                else total)
        if q.kind == QuestionKind.MULTIPLE:
            result.answered = respondents.get(q.pk, 0)
        else:
            result.answered = sum(got.values())
        result.buckets = buckets_for(q)
        for bucket in result.buckets:
            bucket.count = got.get(bucket.key, 0)
            bucket.percent = percent(bucket.count, result.answered)
            bucket.need_id = needs.get(bucket.option_id) if bucket.option_id else None
        if q.kind == QuestionKind.RATING and result.answered:
            result.mean = round(sum(b.key * b.count for b in result.buckets)
                                / result.answered, 2)
        if q.kind == QuestionKind.TEXT:
            result.text_count = result.answered
        elif q.allow_other:
            result.text_count = got.get(OTHER_KEY, 0)
        results.append(result)
    return SurveyResults(survey, total, False, results)


def texts_of(survey: Survey, question: Question):
    """The free-text answers of a text question, or the "other" texts of a choice question,
    in an order that says nothing about who answered when (random within the day)."""
    qs = _counted_answers(survey, question=question, option__isnull=True,
                          number__isnull=True)
    if survey.anonymous:
        return qs.order_by("-response__submitted_on", "pk").values_list(
            "text", "response__submitted_on")
    return qs.order_by("-response__submitted_at", "pk").values_list(
        "text", "response__submitted_on")


def texts_withheld(survey: Survey) -> bool:
    return (survey.anonymous
            and counted_responses(survey).count() < MIN_ANONYMOUS_RESPONSES)


# --- cross-tabulation ---------------------------------------------------------------------

@dataclass
class CrossTab:
    row: Question
    col: Question
    rows: list[Bucket]
    cols: list[Bucket]
    cells: dict  # (row key, col key) -> count
    row_totals: dict  # row key -> respondents who answered both with that row answer
    both: int  # respondents who answered both questions

    def table(self) -> list[dict]:
        out = []
        for r in self.rows:
            total = self.row_totals.get(r.key, 0)
            out.append({"bucket": r, "total": total, "cells": [
                {"count": self.cells.get((r.key, c.key), 0),
                 "percent": percent(self.cells.get((r.key, c.key), 0), total)}
                for c in self.cols]})
        return out


def _sql_key(kind: str, option_id, number):
    return _bucket_key(kind, option_id, number)


def crosstab(survey: Survey, row_id: int, col_id: int) -> CrossTab:
    """Respondents by their answers to two questions (choice or rating). A cell counts the
    respondents with that pair of answers; its percentage is of the row's respondents who
    answered both questions, so with a multiple-choice column a row can exceed 100 %."""
    questions = {q.pk: q for q in questions_of(survey)}
    row, col = questions.get(row_id), questions.get(col_id)
    if row is None or col is None:
        raise ServiceError("question_not_found", _("请选择本问卷的两道题。"), status=400)
    if row.pk == col.pk:
        raise ServiceError("crosstab_same_question", _("请选择两道不同的题目。"))
    if row.kind not in CROSSTAB_KINDS or col.kind not in CROSSTAB_KINDS:
        raise ServiceError("crosstab_kind", _("交叉分析只能用于选择题和打分题。"))
    if survey.anonymous and counted_responses(survey).count() < MIN_ANONYMOUS_RESPONSES:
        raise ServiceError("results_withheld",
                           _("匿名问卷至少有 %(n)d 份答卷后才显示结果。")
                           % {"n": MIN_ANONYMOUS_RESPONSES}, status=409)
    table = connection.ops.quote_name(Answer._meta.db_table)
    # Table name from the model, values as parameters. Text answers (no option, no number)
    # of a choice question are its "other" bucket. The unary plus keeps SQLite's planner
    # (which has no statistics) from walking b by question: it must look each response up
    # by the (response, question, ...) index, or the join turns quadratic. PostgreSQL
    # ignores it and hashes.
    # An anonymous survey's answers waiting for their batch are left out (as in the results).
    counted, extra = "", []
    if survey.anonymous:
        responses = connection.ops.quote_name(Response._meta.db_table)
        counted = (f"AND a.response_id IN (SELECT id FROM {responses} "  # noqa: S608
                   f"WHERE survey_id = %s AND released = %s) ")
        extra = [survey.pk, True]
    pair_sql = (
        f"SELECT a.option_id, a.number, b.option_id, b.number, COUNT(*) "  # noqa: S608
        f"FROM {table} a JOIN {table} b ON b.response_id = a.response_id "
        f"WHERE a.question_id = %s AND +b.question_id = %s {counted}"
        f"GROUP BY a.option_id, a.number, b.option_id, b.number")
    answered_col = f"SELECT response_id FROM {table} WHERE question_id = %s"  # noqa: S608
    total_sql = (
        f"SELECT a.option_id, a.number, COUNT(DISTINCT a.response_id) "  # noqa: S608
        f"FROM {table} a WHERE a.question_id = %s AND a.response_id IN ({answered_col}) "
        f"{counted}GROUP BY a.option_id, a.number")
    both_sql = (
        f"SELECT COUNT(DISTINCT a.response_id) FROM {table} a "  # noqa: S608
        f"WHERE a.question_id = %s AND a.response_id IN ({answered_col}) {counted}")
    cells: dict = {}
    row_totals: dict = {}
    with connection.cursor() as cursor:
        cursor.execute(pair_sql, [row.pk, col.pk, *extra])
        for a_opt, a_num, b_opt, b_num, n in cursor.fetchall():
            key = (_sql_key(row.kind, a_opt, a_num), _sql_key(col.kind, b_opt, b_num))
            cells[key] = cells.get(key, 0) + n
        cursor.execute(total_sql, [row.pk, col.pk, *extra])
        for a_opt, a_num, n in cursor.fetchall():
            key = _sql_key(row.kind, a_opt, a_num)
            row_totals[key] = row_totals.get(key, 0) + n
        cursor.execute(both_sql, [row.pk, col.pk, *extra])
        both = cursor.fetchone()[0]
    return CrossTab(row, col, buckets_for(row), buckets_for(col), cells, row_totals, both)

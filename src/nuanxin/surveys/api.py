"""JSON API for surveys: a worker reads a survey and answers it; staff read results.

Thin: parse, check who is asking, call a selector or service, shape the output. Refusals
are ServiceErrors, rendered by nuanxin.api as {code, message, message_en}. Staff endpoints
honour the administrators' second factor, as the pages do.

An anonymous survey's results and texts carry nothing about respondents; there is no
endpoint that lists responses one by one.
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils.translation import gettext_lazy as _
from ninja import Path, Query, Router, Schema, Status
from ninja.security import django_auth
from pydantic import Field

from nuanxin.accounts.decorators import second_factor_pending
from nuanxin.accounts.models import UserKind
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.common.pagination import paginate
from nuanxin.surveys import selectors, services
from nuanxin.surveys.access import require_manager
from nuanxin.surveys.models import CHOICE_KINDS, Question, Survey, SurveyStatus

router = Router(tags=["surveys"], auth=django_auth)

Id = Path(..., ge=1, le=2**63 - 1)


def _staff(request) -> None:
    if second_factor_pending(request):
        raise PermissionDenied("totp_required", _("请先完成动态口令验证。"))
    require_manager(request.user)


class RegionOut(Schema):
    code: str
    name: str


class SurveySummaryOut(Schema):
    id: int
    title: str
    status: str
    anonymous: bool
    region: RegionOut
    occupations: list[str]
    opens_at: datetime
    closes_at: datetime
    answered: bool | None = Field(None, description="workers: whether I have answered")
    responses: int | None = Field(None, description="staff: number of responses")


class OptionOut(Schema):
    id: int
    label: str
    need_category: str = ""


class ConditionOut(Schema):
    question: int
    options: list[int]


class QuestionOut(Schema):
    id: int
    position: int
    kind: str
    text: str
    help_text: str
    required: bool
    allow_other: bool
    scale_max: int | None
    scale_low_label: str
    scale_high_label: str
    maps_to_need: bool
    options: list[OptionOut]
    show_if: ConditionOut | None = Field(
        None, description="shown only if that question was answered with one of the options")


class SurveyOut(SurveySummaryOut):
    intro: str
    questions: list[QuestionOut]


def _summary(survey: Survey, *, answered: bool | None = None,
             responses: int | None = None) -> dict:
    return {"id": survey.pk, "title": survey.title, "status": survey.status,
            "anonymous": survey.anonymous,
            "region": {"code": survey.region.code, "name": survey.region.name},
            "occupations": list(survey.occupations), "opens_at": survey.opens_at,
            "closes_at": survey.closes_at, "answered": answered, "responses": responses}


def _question(q: Question) -> dict:
    return {"id": q.pk, "position": q.position, "kind": q.kind, "text": q.text,
            "help_text": q.help_text, "required": q.required, "allow_other": q.allow_other,
            "scale_max": q.scale_max, "scale_low_label": q.scale_low_label,
            "scale_high_label": q.scale_high_label, "maps_to_need": q.maps_to_need,
            "options": [{"id": o.pk, "label": o.label, "need_category": o.need_category}
                        for o in q.options.all()] if q.kind in CHOICE_KINDS else [],
            "show_if": {"question": q.show_if_id,
                        "options": [o.pk for o in q.show_if_options.all()]}
            if q.show_if_id else None}


class StaffListQuery(Schema):
    status: SurveyStatus | None = None
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)


class SurveyPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[SurveySummaryOut]


@router.get("", response=SurveyPage, summary="Surveys aimed at my region (staff)")
def survey_list(request, q: Query[StaffListQuery]):
    _staff(request)
    qs = selectors.surveys_for_staff(request.user)
    if q.status:
        qs = qs.filter(status=q.status)
    page = paginate(qs, page=q.page, page_size=q.page_size)
    page["results"] = [_summary(s, responses=s.response_count) for s in page["results"]]
    return page


class OpenOut(Schema):
    results: list[SurveySummaryOut]


@router.get("/mine", response=OpenOut, summary="Surveys open to me now (workers)")
def surveys_mine(request):
    rows = selectors.surveys_open_for(request.user)
    return {"results": [_summary(r["survey"], answered=r["answered"]) for r in rows]}


@router.get("/{survey_id}", response=SurveyOut,
            summary="A survey with its questions (workers: if it is open to them)")
def survey_detail(request, survey_id: int = Id):
    if request.user.kind == UserKind.WORKER:
        survey = selectors.survey_for_answering(survey_id)
        services.check_can_answer(request.user, survey)
        answered, responses = services.has_answered(request.user, survey), None
    else:
        _staff(request)
        survey = selectors.survey_for_staff(request.user, survey_id)
        answered, responses = None, survey.response_count
    return {**_summary(survey, answered=answered, responses=responses),
            "intro": survey.intro,
            "questions": [_question(q) for q in selectors.questions_of(survey)]}


class AnswerIn(Schema):
    question: int = Field(..., ge=1, le=2**63 - 1)
    options: list[int] = Field(default_factory=list, max_length=50,
                               description="chosen option ids (choice questions)")
    other: str | None = Field(None, max_length=400,
                              description='the "other" text; giving it chooses "other"')
    value: int | None = Field(None, ge=-1000, le=1000, description="a rating")
    text: str | None = Field(None, max_length=4000, description="a free-text answer")


class AnswersIn(Schema):
    answers: list[AnswerIn] = Field(..., max_length=100)


class RecordedOut(Schema):
    status: str
    message: str


@router.post("/{survey_id}/responses", response={201: RecordedOut},
             summary="Answer a survey (once per worker)")
def survey_answer(request, body: AnswersIn, survey_id: int = Id):
    answers = {}
    for item in body.answers:
        if item.question in answers:
            raise ServiceError("duplicate_question", _("同一道题只能出现一次。"),
                               details={"question": item.question})
        answers[item.question] = services.AnswerInput(
            options=list(item.options), other=item.other or "",
            other_chosen=bool((item.other or "").strip()), number=item.value,
            text=item.text or "")
    services.response_submit(worker=request.user, survey_id=survey_id, answers=answers)
    return Status(201, {"status": "recorded", "message": str(_("提交成功，谢谢您的参与！"))})


class BucketOut(Schema):
    key: str = Field(..., description='option id, rating value, or "other"')
    label: str
    count: int
    percent: float
    need_category: str = ""
    need_id: int | None = None


class QuestionResultOut(Schema):
    id: int
    position: int
    text: str
    kind: str
    conditional: bool
    shown: int = Field(..., description="respondents the question was shown to")
    answered: int = Field(..., description="respondents who answered it")
    skipped: int
    mean: float | None = None
    text_count: int
    buckets: list[BucketOut] = Field(
        ..., description="percent is of respondents who answered the question")


class ResultsOut(Schema):
    survey: SurveySummaryOut
    responses: int
    withheld: bool = Field(..., description="anonymous surveys: too few answers to show yet")
    target_group: int
    questions: list[QuestionResultOut]


@router.get("/{survey_id}/results", response=ResultsOut, summary="Aggregated results (staff)")
def survey_results(request, survey_id: int = Id):
    _staff(request)
    survey = selectors.survey_for_staff(request.user, survey_id)
    results = selectors.survey_results(survey)
    return {
        "survey": _summary(survey, responses=results.responses),
        "responses": results.responses, "withheld": results.withheld,
        "target_group": selectors.target_group_size(survey),
        "questions": [{
            "id": r.question.pk, "position": r.question.position, "text": r.question.text,
            "kind": r.question.kind, "conditional": bool(r.question.show_if_id),
            "shown": r.shown, "answered": r.answered, "skipped": r.skipped, "mean": r.mean,
            "text_count": r.text_count,
            "buckets": [{"key": str(b.key), "label": b.label, "count": b.count,
                         "percent": b.percent, "need_category": b.need_category,
                         "need_id": b.need_id} for b in r.buckets],
        } for r in results.questions],
    }


class CrossTabQuery(Schema):
    row: int = Field(..., ge=1, le=2**63 - 1, description="question id for the rows")
    col: int = Field(..., ge=1, le=2**63 - 1, description="question id for the columns")


class CellOut(Schema):
    key: str
    label: str
    count: int
    percent: float


class CrossRowOut(Schema):
    key: str
    label: str
    total: int
    cells: list[CellOut]


class CrossTabOut(Schema):
    row_question: int
    col_question: int
    both: int = Field(..., description="respondents who answered both questions")
    rows: list[CrossRowOut]


@router.get("/{survey_id}/results/crosstab", response=CrossTabOut,
            summary="Cross-tabulate two questions (staff)")
def survey_crosstab(request, q: Query[CrossTabQuery], survey_id: int = Id):
    _staff(request)
    survey = selectors.survey_for_staff(request.user, survey_id)
    tab = selectors.crosstab(survey, q.row, q.col)
    return {"row_question": tab.row.pk, "col_question": tab.col.pk, "both": tab.both,
            "rows": [{"key": str(line["bucket"].key), "label": line["bucket"].label,
                      "total": line["total"],
                      "cells": [{"key": str(c.key), "label": c.label, **cell}
                                for c, cell in zip(tab.cols, line["cells"], strict=True)]}
                     for line in tab.table()]}


class TextsQuery(Schema):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=100)


class TextOut(Schema):
    text: str
    date: date


class TextPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[TextOut]


@router.get("/{survey_id}/questions/{question_id}/texts", response=TextPage,
            summary='Free-text (and "other") answers of a question, paginated (staff)')
def survey_texts(request, q: Query[TextsQuery], survey_id: int = Id, question_id: int = Id):
    _staff(request)
    survey = selectors.survey_for_staff(request.user, survey_id)
    question = Question.objects.filter(pk=question_id, survey=survey).first()
    if question is None:
        raise NotFound("question_not_found", _("找不到这道题。"))
    if selectors.texts_withheld(survey):
        raise ServiceError("results_withheld",
                           _("匿名问卷至少有 %(n)d 份答卷后才显示结果。")
                           % {"n": selectors.MIN_ANONYMOUS_RESPONSES}, status=409)
    page = paginate(selectors.texts_of(survey, question), page=q.page, page_size=q.page_size)
    page["results"] = [{"text": text, "date": day} for text, day in page["results"]]
    return page

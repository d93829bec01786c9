"""Builders for surveys with questions, made through the services (the same path as the
console); people and places come from tests.factories."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from nuanxin.accounts.models import User
from nuanxin.surveys import services
from nuanxin.surveys.models import QuestionKind, Survey
from nuanxin.surveys.services import AnswerInput, OptionInput, QuestionInput, SurveyInput
from tests.factories.places import YIJIASHAN


def survey_input(**overrides) -> SurveyInput:
    now = timezone.now()
    values = {"title": "充电情况调查", "region_code": YIJIASHAN,
              "opens_at": now - timedelta(days=1), "closes_at": now + timedelta(days=7)}
    values.update(overrides)
    return SurveyInput(**values)


def charging_survey(staff: User, *, anonymous: bool = False, publish: bool = True,
                    **overrides) -> tuple[Survey, dict]:
    """Q1 multiple (maps to needs; other allowed), Q2 shown if Q1 = charging (required
    multiple), Q3 rating 1–5, Q4 single, Q5 optional free text."""
    survey = services.survey_create(actor=staff,
                                    data=survey_input(anonymous=anonymous, **overrides))
    q = {}
    q["pain"] = services.question_add(actor=staff, survey_id=survey.pk, data=QuestionInput(
        kind=QuestionKind.MULTIPLE, text="跑单途中最大的困难是什么？", allow_other=True,
        maps_to_need=True,
        options=[OptionInput("充电", "charging"), OptionInput("歇脚", "rest_space"),
                 OptionInput("停车", "traffic_parking")]))
    charging = q["pain"].options.get(position=1)
    q["detail"] = services.question_add(actor=staff, survey_id=survey.pk, data=QuestionInput(
        kind=QuestionKind.MULTIPLE, text="充电方面具体遇到哪些问题？",
        options=[OptionInput("排队"), OptionInput("太贵"), OptionInput("不安全")],
        show_if_question_id=q["pain"].pk, show_if_option_ids=[charging.pk]))
    q["rating"] = services.question_add(actor=staff, survey_id=survey.pk, data=QuestionInput(
        kind=QuestionKind.RATING, text="满意度", scale_max=5))
    q["cabinet"] = services.question_add(actor=staff, survey_id=survey.pk, data=QuestionInput(
        kind=QuestionKind.SINGLE, text="愿意用换电柜吗？",
        options=[OptionInput("愿意"), OptionInput("看价格"), OptionInput("不愿意")]))
    q["text"] = services.question_add(actor=staff, survey_id=survey.pk, data=QuestionInput(
        kind=QuestionKind.TEXT, text="还有什么建议？", required=False))
    if publish:
        services.survey_publish(actor=staff, survey_id=survey.pk)
        survey.refresh_from_db()
    return survey, q


def simple_survey(staff: User, *, publish: bool = True, **overrides) -> tuple[Survey, object]:
    survey = services.survey_create(actor=staff, data=survey_input(**overrides))
    question = services.question_add(actor=staff, survey_id=survey.pk, data=QuestionInput(
        kind=QuestionKind.SINGLE, text="愿意吗？",
        options=[OptionInput("愿意"), OptionInput("不愿意")]))
    if publish:
        services.survey_publish(actor=staff, survey_id=survey.pk)
        survey.refresh_from_db()
    return survey, question


def opt(question, position: int) -> int:
    return question.options.get(position=position).pk


def answer(q: dict, *, pains=(1,), details=(1,), rating=3, cabinet=1, text="", other=""):
    """A full valid answer to charging_survey by option positions."""
    answers = {q["pain"].pk: AnswerInput(options=[opt(q["pain"], p) for p in pains],
                                         other=other)}
    if details is not None:
        answers[q["detail"].pk] = AnswerInput(options=[opt(q["detail"], d) for d in details])
    if rating is not None:
        answers[q["rating"].pk] = AnswerInput(number=rating)
    if cabinet is not None:
        answers[q["cabinet"].pk] = AnswerInput(options=[opt(q["cabinet"], cabinet)])
    if text:
        answers[q["text"].pk] = AnswerInput(text=text)
    return answers

"""Answering: conditional questions, validation, once per worker, target group, window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.surveys import services
from nuanxin.surveys.models import Answer, Participation, Response
from nuanxin.surveys.services import AnswerInput
from tests.factories.people import StaffFactory, WorkerFactory
from tests.factories.places import CHUITAI, YIWU, next_door
from tests.surveys.helpers import answer, charging_survey, opt, simple_survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(staff):
    return charging_survey(staff)


def _problems(error) -> dict:
    return {p["question"]: p["code"] for p in error.value.details["errors"]}


def test_a_full_answer_is_stored_per_question(survey):
    s, q = survey
    worker = WorkerFactory()
    services.response_submit(worker=worker, survey_id=s.pk,
                             answers=answer(q, pains=(1, 3), details=(1, 2), rating=4,
                                            text="多装换电柜", other="下雨"))
    response = Response.objects.get(survey=s)
    assert response.respondent == worker and response.submitted_at is not None
    rows = {(a.question_id, a.option_id, a.number, a.text) for a in response.answers.all()}
    assert rows == {
        (q["pain"].pk, opt(q["pain"], 1), None, ""), (q["pain"].pk, opt(q["pain"], 3), None, ""),
        (q["pain"].pk, None, None, "下雨"),
        (q["detail"].pk, opt(q["detail"], 1), None, ""),
        (q["detail"].pk, opt(q["detail"], 2), None, ""),
        (q["rating"].pk, None, 4, ""), (q["cabinet"].pk, opt(q["cabinet"], 1), None, ""),
        (q["text"].pk, None, None, "多装换电柜"),
    }
    assert Participation.objects.filter(survey=s, worker=worker).exists()


def test_hidden_questions_answers_are_ignored(survey):
    s, q = survey
    worker = WorkerFactory()
    # Q2 is shown only if Q1 = 充电; this worker did not tick it but sent Q2 anyway.
    services.response_submit(worker=worker, survey_id=s.pk,
                             answers=answer(q, pains=(2,), details=(1, 3)))
    assert not Answer.objects.filter(question=q["detail"]).exists()
    assert Answer.objects.filter(question=q["pain"]).count() == 1


def test_hidden_required_questions_are_not_required(survey):
    s, q = survey
    services.response_submit(worker=WorkerFactory(), survey_id=s.pk,
                             answers=answer(q, pains=(3,), details=None))
    assert Response.objects.filter(survey=s).count() == 1


def test_shown_required_questions_are_enforced(survey):
    s, q = survey
    with pytest.raises(ServiceError) as error:
        services.response_submit(worker=WorkerFactory(), survey_id=s.pk,
                                 answers=answer(q, pains=(1,), details=None, rating=None))
    assert error.value.code == "answers_invalid"
    assert _problems(error) == {q["detail"].pk: "answer_required",
                                q["rating"].pk: "answer_required"}
    assert not Response.objects.exists() and not Participation.objects.exists()


def test_only_other_does_not_show_the_condition(survey):
    s, q = survey
    answers = answer(q, pains=(), details=(2,), other="别的")
    services.response_submit(worker=WorkerFactory(), survey_id=s.pk, answers=answers)
    assert not Answer.objects.filter(question=q["detail"]).exists()


def test_chained_conditions_collapse(staff):
    from nuanxin.surveys.services import OptionInput, QuestionInput

    s, first = simple_survey(staff, publish=False)
    yes = first.options.get(position=1)
    second = services.question_add(actor=staff, survey_id=s.pk, data=QuestionInput(
        kind="single", text="二", options=[OptionInput("甲"), OptionInput("乙")],
        show_if_question_id=first.pk, show_if_option_ids=[yes.pk]))
    third = services.question_add(actor=staff, survey_id=s.pk, data=QuestionInput(
        kind="text", text="三", show_if_question_id=second.pk,
        show_if_option_ids=[second.options.get(position=1).pk]))
    services.survey_publish(actor=staff, survey_id=s.pk)
    # 一 = 不愿意 hides 二, so 三 is hidden too even though 二's answer would show it
    services.response_submit(worker=WorkerFactory(), survey_id=s.pk, answers={
        first.pk: AnswerInput(options=[opt(first, 2)]),
        second.pk: AnswerInput(options=[opt(second, 1)]),
        third.pk: AnswerInput(text="不该存")})
    assert set(Answer.objects.values_list("question_id", flat=True)) == {first.pk}
    # 一 = 愿意, 二 = 甲: 三 is shown and required
    with pytest.raises(ServiceError) as error:
        services.response_submit(worker=WorkerFactory(), survey_id=s.pk, answers={
            first.pk: AnswerInput(options=[opt(first, 1)]),
            second.pk: AnswerInput(options=[opt(second, 1)])})
    assert _problems(error) == {third.pk: "answer_required"}


@pytest.mark.parametrize(("key", "value", "code"), [
    ("cabinet", AnswerInput(options=[-1]), "invalid_option"),
    ("cabinet", "two", "one_option_only"),
    ("cabinet", AnswerInput(other="x"), "other_not_allowed"),
    ("pain", AnswerInput(other_chosen=True), "other_text_required"),
    ("pain", AnswerInput(other="长" * 201), "other_too_long"),
    ("rating", AnswerInput(number=6), "invalid_rating"),
    ("rating", AnswerInput(number=0), "invalid_rating"),
    ("text", AnswerInput(text="长" * 2001), "text_too_long"),
])
def test_answer_refusals(survey, key, value, code):
    s, q = survey
    answers = answer(q)
    if value == "two":
        value = AnswerInput(options=[opt(q["cabinet"], 1), opt(q["cabinet"], 2)])
    if key == "pain" and code != "other_too_long":
        answers[q["pain"].pk] = AnswerInput(options=[opt(q["pain"], 2)], other_chosen=True)
    else:
        answers[q[key].pk] = value
    with pytest.raises(ServiceError) as error:
        services.response_submit(worker=WorkerFactory(), survey_id=s.pk, answers=answers)
    assert _problems(error)[q[key].pk] == code


def test_unknown_questions_and_empty_answers(survey, staff):
    s, q = survey
    other, other_q = simple_survey(staff)
    with pytest.raises(ServiceError) as error:
        services.response_submit(worker=WorkerFactory(), survey_id=s.pk, answers={
            **answer(q), other_q.pk: AnswerInput(options=[opt(other_q, 1)])})
    assert error.value.code == "unknown_question"
    optional, text_q = simple_survey(staff)
    text_q.required = False
    text_q.save()
    with pytest.raises(ServiceError) as error:
        services.response_submit(worker=WorkerFactory(), survey_id=optional.pk, answers={})
    assert error.value.code == "empty_response"


def test_one_answer_per_worker(survey):
    s, q = survey
    worker = WorkerFactory()
    services.response_submit(worker=worker, survey_id=s.pk, answers=answer(q))
    with pytest.raises(ServiceError) as error:
        services.response_submit(worker=worker, survey_id=s.pk, answers=answer(q, rating=1))
    assert (error.value.code, error.value.status) == ("already_answered", 409)
    assert Response.objects.filter(survey=s).count() == 1


def test_the_database_enforces_once(survey):
    s, _q = survey
    worker = WorkerFactory()
    Participation.objects.create(survey=s, worker=worker)
    with pytest.raises(IntegrityError), transaction.atomic():
        Participation.objects.create(survey=s, worker=worker)
    Response.objects.create(survey=s, anonymous=False, respondent=worker,
                            submitted_on=timezone.localdate(), submitted_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        Response.objects.create(survey=s, anonymous=False, respondent=worker,
                                submitted_on=timezone.localdate(), submitted_at=timezone.now())


def test_a_participation_row_without_a_response_still_blocks(survey):
    """The race loser: its Participation insert fails even if the winner's check passed."""
    s, q = survey
    worker = WorkerFactory()
    Participation.objects.create(survey=s, worker=worker)
    with pytest.raises(ServiceError) as error:
        services.response_submit(worker=worker, survey_id=s.pk, answers=answer(q))
    assert error.value.code == "already_answered"


# --- who may answer -----------------------------------------------------------------------

def test_target_group_refusals(staff):
    s, q = simple_survey(staff)
    answers = {q.pk: AnswerInput(options=[opt(q, 1)])}
    for worker, code in [
        (WorkerFactory(home_region_code=None), "home_region_required"),
        (WorkerFactory(home_region_code=CHUITAI), "not_in_target_group"),
        (WorkerFactory(home_region_code=next_door()), "not_in_target_group"),  # the next community
    ]:
        with pytest.raises(PermissionDenied) as error:
            services.response_submit(worker=worker, survey_id=s.pk, answers=answers)
        assert error.value.code == code
    with pytest.raises(PermissionDenied) as error:
        services.response_submit(worker=staff, survey_id=s.pk, answers=answers)
    assert error.value.code == "workers_only"
    assert not Response.objects.exists()


def test_a_district_survey_reaches_every_community_in_it():
    district = StaffFactory(role="district_admin", region_code=YIWU)
    s, q = simple_survey(district, region_code=YIWU)
    services.response_submit(worker=WorkerFactory(home_region_code=next_door()), survey_id=s.pk,
                             answers={q.pk: AnswerInput(options=[opt(q, 1)])})
    assert Response.objects.filter(survey=s).count() == 1


def test_occupation_target(staff):
    s, q = simple_survey(staff, occupations=["courier"])
    answers = {q.pk: AnswerInput(options=[opt(q, 1)])}
    with pytest.raises(PermissionDenied) as error:
        services.response_submit(worker=WorkerFactory(occupation="food_delivery"),
                                 survey_id=s.pk, answers=answers)
    assert error.value.code == "not_in_target_group"
    services.response_submit(worker=WorkerFactory(occupation="courier"), survey_id=s.pk,
                             answers=answers)


def test_drafts_do_not_exist_for_workers(staff):
    s, q = simple_survey(staff, publish=False)
    with pytest.raises(NotFound):
        services.response_submit(worker=WorkerFactory(), survey_id=s.pk,
                                 answers={q.pk: AnswerInput(options=[opt(q, 1)])})


def test_window(staff):
    now = timezone.now()
    s, q = simple_survey(staff, opens_at=now + timedelta(hours=1),
                         closes_at=now + timedelta(days=1))
    answers = {q.pk: AnswerInput(options=[opt(q, 1)])}
    worker = WorkerFactory()
    with pytest.raises(ServiceError) as error:
        services.response_submit(worker=worker, survey_id=s.pk, answers=answers)
    assert (error.value.code, error.value.status) == ("survey_not_open", 409)
    # after the closing time (the job has not closed it yet): refused
    with pytest.raises(ServiceError) as error:
        services.response_submit(worker=worker, survey_id=s.pk, answers=answers,
                                 at=s.closes_at)
    assert error.value.code == "survey_closed"
    # inside the window: fine
    services.response_submit(worker=worker, survey_id=s.pk, answers=answers,
                             at=now + timedelta(hours=2))
    # closed by staff: refused even inside the window
    services.survey_close(actor=staff, survey_id=s.pk)
    with pytest.raises(ServiceError) as error:
        services.response_submit(worker=WorkerFactory(), survey_id=s.pk, answers=answers,
                                 at=now + timedelta(hours=2))
    assert error.value.code == "survey_closed"

"""The questionnaire builder and the survey state machine."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.surveys import services
from nuanxin.surveys.models import Option, Question, Survey, SurveyEvent, SurveyStatus
from nuanxin.surveys.services import OptionInput, QuestionInput
from tests.factories.people import StaffFactory, SuperuserFactory
from tests.factories.places import CHOUCHENG, CHUITAI, YIJIASHAN, YIWU
from tests.surveys.helpers import charging_survey, simple_survey, survey_input

pytestmark = pytest.mark.django_db


def single(text="愿意吗？", labels=("愿意", "不愿意"), **kw) -> QuestionInput:
    return QuestionInput(kind="single", text=text,
                         options=[OptionInput(label) for label in labels], **kw)


def test_create_is_a_draft_with_history(staff):
    survey = services.survey_create(actor=staff, data=survey_input(occupations=["courier"]))
    assert survey.status == SurveyStatus.DRAFT
    assert survey.org_unit == staff.staff_profile.org_unit
    assert survey.occupations == ["courier"]
    assert list(survey.events.values_list("action", flat=True)) == ["surveys.survey.created"]


@pytest.mark.parametrize(("overrides", "code"), [
    ({"title": " "}, "title_required"),
    ({"title": "x" * 81}, "title_too_long"),
    ({"occupations": ["pilot"]}, "unknown_occupation"),
    ({"closes_at": timezone.now() - timedelta(days=2)}, "invalid_window"),
    ({"closes_at": timezone.now() + timedelta(days=400)}, "invalid_window"),
])
def test_survey_input_refusals(staff, overrides, code):
    with pytest.raises(ServiceError) as error:
        services.survey_create(actor=staff, data=survey_input(**overrides))
    assert error.value.code == code


def test_target_region_must_be_in_scope(staff):
    with pytest.raises(NotFound) as error:
        services.survey_create(actor=staff, data=survey_input(region_code=CHUITAI))
    assert error.value.code == "region_not_found"
    with pytest.raises(NotFound):  # the street above is outside a community's scope too
        services.survey_create(actor=staff, data=survey_input(region_code=CHOUCHENG))
    district = StaffFactory(role="district_admin", region_code=YIWU)
    survey = services.survey_create(actor=district, data=survey_input(region_code=YIWU))
    assert survey.region_id == YIWU


def test_station_keepers_and_workers_do_not_build_surveys():
    keeper = StaffFactory(role="station_keeper", region_code=YIJIASHAN)
    with pytest.raises(PermissionDenied):
        services.survey_create(actor=keeper, data=survey_input())


def test_question_kinds_and_their_rules(staff):
    survey, _q = simple_survey(staff, publish=False)
    rating = services.question_add(actor=staff, survey_id=survey.pk, data=QuestionInput(
        kind="rating", text="打分", scale_max=10, scale_low_label="差", scale_high_label="好"))
    assert (rating.position, rating.scale_max) == (2, 10)
    text = services.question_add(actor=staff, survey_id=survey.pk,
                                 data=QuestionInput(kind="text", text="建议", required=False))
    assert text.options.count() == 0 and not text.required
    multiple = services.question_add(actor=staff, survey_id=survey.pk, data=QuestionInput(
        kind="multiple", text="多选", allow_other=True,
        options=[OptionInput("甲"), OptionInput("乙"), OptionInput("丙")]))
    assert [o.label for o in multiple.options.all()] == ["甲", "乙", "丙"]
    assert multiple.allow_other


@pytest.mark.parametrize(("data", "code"), [
    (QuestionInput(kind="essay", text="?"), "invalid_kind"),
    (QuestionInput(kind="text", text=" "), "question_text_required"),
    (QuestionInput(kind="single", text="?", options=[OptionInput("只有一个")]),
     "too_few_options"),
    (QuestionInput(kind="single", text="?", options=[OptionInput("同"), OptionInput("同")]),
     "duplicate_option"),
    (QuestionInput(kind="single", text="?", options=[OptionInput(str(i)) for i in range(21)]),
     "too_many_options"),
    (QuestionInput(kind="rating", text="?", scale_max=11), "invalid_scale"),
    (QuestionInput(kind="rating", text="?", scale_max=1), "invalid_scale"),
    (QuestionInput(kind="single", text="?", maps_to_need=True,
                   options=[OptionInput("a"), OptionInput("b")]), "need_category_required"),
    (QuestionInput(kind="single", text="?", maps_to_need=True,
                   options=[OptionInput("a", "flying"), OptionInput("b")]), "invalid_category"),
])
def test_question_refusals(staff, data, code):
    survey, _q = simple_survey(staff, publish=False)
    with pytest.raises(ServiceError) as error:
        services.question_add(actor=staff, survey_id=survey.pk, data=data)
    assert error.value.code == code


def test_conditions_must_point_at_an_earlier_choice_question(staff):
    survey, first = simple_survey(staff, publish=False)
    text = services.question_add(actor=staff, survey_id=survey.pk,
                                 data=QuestionInput(kind="text", text="为什么？"))
    yes = first.options.get(position=1)
    conditional = services.question_add(actor=staff, survey_id=survey.pk, data=single(
        text="追问", show_if_question_id=first.pk, show_if_option_ids=[yes.pk]))
    assert conditional.show_if == first
    assert list(conditional.show_if_options.all()) == [yes]
    with pytest.raises(ServiceError) as error:  # a text question cannot be a condition
        services.question_add(actor=staff, survey_id=survey.pk, data=single(
            show_if_question_id=text.pk, show_if_option_ids=[yes.pk]))
    assert error.value.code == "invalid_condition"
    with pytest.raises(ServiceError):  # options of another question
        services.question_add(actor=staff, survey_id=survey.pk, data=single(
            show_if_question_id=conditional.pk, show_if_option_ids=[yes.pk]))
    with pytest.raises(ServiceError):  # no option chosen
        services.question_add(actor=staff, survey_id=survey.pk, data=single(
            show_if_question_id=first.pk, show_if_option_ids=[]))
    with pytest.raises(ServiceError):  # itself / a later question
        services.question_update(actor=staff, question_id=first.pk, data=single(
            show_if_question_id=conditional.pk,
            show_if_option_ids=[conditional.options.first().pk]))


def test_reorder_keeps_conditions_after_their_source(staff):
    survey, q = charging_survey(staff, publish=False)
    order = [q["rating"].pk, q["pain"].pk, q["detail"].pk, q["cabinet"].pk, q["text"].pk]
    services.questions_reorder(actor=staff, survey_id=survey.pk, order=order)
    assert list(survey.questions.order_by("position").values_list("pk", flat=True)) == order
    with pytest.raises(ServiceError) as error:
        services.questions_reorder(actor=staff, survey_id=survey.pk, order=[
            q["detail"].pk, q["pain"].pk, q["rating"].pk, q["cabinet"].pk, q["text"].pk])
    assert error.value.code == "condition_order"
    with pytest.raises(ServiceError) as error:
        services.questions_reorder(actor=staff, survey_id=survey.pk, order=order[:3])
    assert error.value.code == "invalid_order"
    # moving the conditional question above its source is refused; down/up otherwise work
    with pytest.raises(ServiceError):
        services.question_move(actor=staff, question_id=q["detail"].pk, offset=-1)
    services.question_move(actor=staff, question_id=q["text"].pk, offset=-1)
    positions = dict(survey.questions.values_list("pk", "position"))
    assert positions[q["text"].pk] == 4 and positions[q["cabinet"].pk] == 5
    services.question_move(actor=staff, question_id=q["rating"].pk, offset=-1)  # first: no-op
    assert Question.objects.get(pk=q["rating"].pk).position == 1


def test_options_edit_in_place_and_condition_options_are_protected(staff):
    survey, q = charging_survey(staff, publish=False)
    pain = q["pain"]
    ids = list(pain.options.values_list("pk", flat=True))
    data = QuestionInput(kind="multiple", text="最大的困难？", maps_to_need=True,
                         allow_other=True, options=[
                             OptionInput("充电难", "charging", id=ids[0]),
                             OptionInput("停车", "traffic_parking", id=ids[2]),
                             OptionInput("新选项", "health")])
    with pytest.raises(ServiceError):  # dropping 充电, which a condition uses, is refused
        services.question_update(actor=staff, question_id=pain.pk, data=QuestionInput(
            kind="multiple", text="x", options=[OptionInput("歇脚", id=ids[1]),
                                                OptionInput("停车", id=ids[2])]))
    services.question_update(actor=staff, question_id=pain.pk, data=data)
    assert list(pain.options.values_list("label", "position")) == [
        ("充电难", 1), ("停车", 2), ("新选项", 3)]
    assert pain.options.get(label="充电难").pk == ids[0]  # the condition still points at it
    with pytest.raises(ServiceError) as error:
        services.question_delete(actor=staff, question_id=pain.pk)
    assert error.value.code == "question_has_dependents"
    with pytest.raises(ServiceError) as error:
        services.question_update(actor=staff, question_id=pain.pk,
                                 data=QuestionInput(kind="text", text="改成填空"))
    assert error.value.code == "question_has_dependents"


def test_delete_renumbers(staff):
    survey, q = charging_survey(staff, publish=False)
    services.question_delete(actor=staff, question_id=q["rating"].pk)
    assert list(survey.questions.values_list("position", flat=True)) == [1, 2, 3, 4]


def test_survey_copy_is_a_new_draft_with_the_same_questions(staff):
    survey, q = charging_survey(staff)
    copy = services.survey_copy(actor=staff, survey_id=survey.pk)
    assert copy.status == SurveyStatus.DRAFT and copy.pk != survey.pk
    assert copy.questions.count() == 5
    detail = copy.questions.get(position=2)
    assert detail.show_if.survey_id == copy.pk
    assert detail.show_if_options.get().question.survey_id == copy.pk


# --- the state machine --------------------------------------------------------------------

STATES = [SurveyStatus.DRAFT, SurveyStatus.PUBLISHED, SurveyStatus.CLOSED]
ACTIONS = ["publish", "close", "reopen"]
ALLOWED = {("publish", "draft"): "published", ("close", "published"): "closed",
           ("reopen", "closed"): "published"}


def _in_state(staff, state) -> Survey:
    survey, _q = simple_survey(staff, publish=state != SurveyStatus.DRAFT)
    if state == SurveyStatus.CLOSED:
        services.survey_close(actor=staff, survey_id=survey.pk)
    survey.refresh_from_db()
    assert survey.status == state
    return survey


def _do(staff, action, survey):
    if action == "publish":
        return services.survey_publish(actor=staff, survey_id=survey.pk)
    if action == "close":
        return services.survey_close(actor=staff, survey_id=survey.pk)
    return services.survey_reopen(actor=staff, survey_id=survey.pk,
                                  closes_at=timezone.now() + timedelta(days=3))


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_transition(staff, state, action):
    survey = _in_state(staff, state)
    events = SurveyEvent.objects.filter(survey=survey).count()
    expected = ALLOWED.get((action, state))
    if expected is None:
        with pytest.raises(ServiceError) as error:
            _do(staff, action, survey)
        assert error.value.code == "invalid_transition"
        assert error.value.status == 409
        survey.refresh_from_db()
        assert survey.status == state
        assert SurveyEvent.objects.filter(survey=survey).count() == events
        return
    _do(staff, action, survey)
    survey.refresh_from_db()
    assert survey.status == expected
    last = SurveyEvent.objects.filter(survey=survey).order_by("-id").first()
    assert (last.from_state, last.to_state, last.actor) == (state, expected, staff)
    assert last.action.startswith("surveys.survey.")


def test_the_transition_table_is_exactly_the_allowed_one():
    table = {(action, s) for action, t in services.TRANSITIONS.items() for s in t.sources}
    assert table == set(ALLOWED)


def test_publish_needs_questions_and_a_future_closing_time(staff):
    survey = services.survey_create(actor=staff, data=survey_input())
    with pytest.raises(ServiceError) as error:
        services.survey_publish(actor=staff, survey_id=survey.pk)
    assert error.value.code == "no_questions"
    past, _q = simple_survey(staff, publish=False,
                             opens_at=timezone.now() - timedelta(days=9),
                             closes_at=timezone.now() - timedelta(days=1))
    with pytest.raises(ServiceError) as error:
        services.survey_publish(actor=staff, survey_id=past.pk)
    assert error.value.code == "invalid_window"


def test_reopen_needs_a_future_closing_time(staff):
    survey = _in_state(staff, SurveyStatus.CLOSED)
    with pytest.raises(ServiceError) as error:
        services.survey_reopen(actor=staff, survey_id=survey.pk,
                               closes_at=timezone.now() - timedelta(minutes=1))
    assert error.value.code == "invalid_window"


def test_published_questions_are_frozen(staff):
    survey, q = charging_survey(staff)
    for call in (
        lambda: services.question_add(actor=staff, survey_id=survey.pk, data=single()),
        lambda: services.question_update(actor=staff, question_id=q["cabinet"].pk,
                                         data=single()),
        lambda: services.question_delete(actor=staff, question_id=q["text"].pk),
        lambda: services.question_move(actor=staff, question_id=q["text"].pk, offset=-1),
        lambda: services.questions_reorder(actor=staff, survey_id=survey.pk, order=[]),
    ):
        with pytest.raises(ServiceError) as error:
            call()
        assert error.value.code == "survey_frozen"
    # only the closing time of a published survey changes
    data = survey_input(title=survey.title, opens_at=survey.opens_at,
                        closes_at=survey.closes_at + timedelta(days=3))
    services.survey_update(actor=staff, survey_id=survey.pk, data=data)
    survey.refresh_from_db()
    assert survey.closes_at == data.closes_at
    with pytest.raises(ServiceError) as error:
        services.survey_update(actor=staff, survey_id=survey.pk, data=survey_input(
            title="改标题", opens_at=survey.opens_at, closes_at=survey.closes_at))
    assert error.value.code == "survey_frozen"
    with pytest.raises(ServiceError) as error:
        services.survey_delete(actor=staff, survey_id=survey.pk)
    assert error.value.code == "survey_not_draft"


def test_expired_surveys_close_themselves(staff):
    survey, _q = simple_survey(staff)
    later = survey.closes_at + timedelta(minutes=1)
    assert services.surveys_close_expired(now=later) == 1
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.CLOSED
    event = survey.events.order_by("-id").first()
    assert event.actor is None and event.action == "surveys.survey.closed"


def test_other_regions_surveys_do_not_exist_for_staff(staff):
    survey, _q = simple_survey(staff, publish=False)
    other = StaffFactory(region_code=CHUITAI)
    for call in (
        lambda: services.survey_publish(actor=other, survey_id=survey.pk),
        lambda: services.question_add(actor=other, survey_id=survey.pk, data=single()),
        lambda: services.survey_delete(actor=other, survey_id=survey.pk),
    ):
        with pytest.raises(NotFound):
            call()
    services.survey_publish(actor=SuperuserFactory(), survey_id=survey.pk)


def test_database_refuses_impossible_rows(staff):
    survey, q = simple_survey(staff, publish=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        Question.objects.create(survey=survey, position=1, kind="text", text="dup position")
    with pytest.raises(IntegrityError), transaction.atomic():
        Question.objects.create(survey=survey, position=9, kind="rating", text="no scale")
    with pytest.raises(IntegrityError), transaction.atomic():
        Option.objects.create(question=q, position=1, label="dup")
    with pytest.raises(IntegrityError), transaction.atomic():
        Survey.objects.filter(pk=survey.pk).update(status="archived")

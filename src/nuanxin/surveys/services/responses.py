"""Answering a survey, and turning its aggregated answers into needs.

One answer per worker is a database fact (Participation's unique constraint), so two
submissions racing each other end with one recorded answer and one `already_answered`.
Answers to questions the respondent was not shown are dropped, and only the shown
required questions are required, whatever the client sent: the rule lives here, not in
the page's JavaScript.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import User, UserKind
from nuanxin.accounts.selectors import worker_profile_of
from nuanxin.accounts.services import notification_settle
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError, lazy_format
from nuanxin.common.scoping import covers
from nuanxin.needs.services import (
    NeedInput,
    NeedSource,
    Urgency,
    need_raise,
    need_raise_again,
)
from nuanxin.surveys.logic import shapes_of, shown_question_ids
from nuanxin.surveys.models import (
    RESULTS_BATCH,
    Answer,
    Option,
    Participation,
    Question,
    QuestionKind,
    Response,
    Survey,
    SurveyNeed,
    SurveyStatus,
)
from nuanxin.surveys.services.surveys import SURVEY_WORKFLOW, locked_survey

OTHER_MAX = 200
TEXT_MAX = 2000


def _now() -> datetime:
    return timezone.now()


@dataclass
class AnswerInput:
    """What a respondent gave for one question. `other` is the "other" text of a choice
    question (giving it means choosing "other"); `number` a rating; `text` free text."""

    options: list[int] = field(default_factory=list)
    other: str = ""
    other_chosen: bool = False
    number: int | None = None
    text: str = ""


def check_can_answer(worker: User, survey: Survey | None, *, now: datetime | None = None,
                     profile=None) -> None:
    """Refuse, with a reason the worker can act on, anyone who may not answer now."""
    now = now or _now()
    if survey is None or survey.status == SurveyStatus.DRAFT:
        raise NotFound("survey_not_found", _("找不到这份问卷。"))
    if not getattr(worker, "is_authenticated", False) or worker.kind != UserKind.WORKER:
        raise PermissionDenied("workers_only", _("问卷面向骑手、快递员和网约车司机。"))
    if survey.status == SurveyStatus.CLOSED or now >= survey.closes_at:
        raise ServiceError("survey_closed", _("这份问卷已经截止，谢谢关注。"), status=409)
    if now < survey.opens_at:
        raise ServiceError(
            "survey_not_open",
            lazy_format(_("这份问卷 %(date)s 开始答题。"),
                        date=timezone.localtime(survey.opens_at).strftime("%Y-%m-%d %H:%M")),
            status=409)
    profile = profile if profile is not None else worker_profile_of(worker)
    if profile is None or profile.home_region_id is None:
        raise PermissionDenied(
            "home_region_required",
            _("请先在“我的”里填写常住社区，我们才知道哪些问卷是给您的。"))
    if not covers(survey.region.prefix, profile.home_region_id):
        raise PermissionDenied(
            "not_in_target_group",
            lazy_format(_("这份问卷面向住在%(region)s的骑手、快递员和司机。"),
                        region=survey.region.name))
    if survey.occupations and profile.occupation not in survey.occupations:
        raise PermissionDenied("not_in_target_group",
                               _("这份问卷面向特定职业的从业者，您不在调查范围内。"))


def has_answered(worker: User, survey: Survey) -> bool:
    return Participation.objects.filter(survey=survey, worker=worker).exists()


def _problem(question: Question, code: str, message) -> dict:
    return {"question": question.pk, "position": question.position, "code": code,
            "message": str(message)}


def _rows_for(question: Question, answer: AnswerInput, option_ids: set[int]
              ) -> tuple[list[dict], dict | None]:
    """(answer rows, problem) for one shown question."""
    kind = question.kind
    if kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        chosen = list(dict.fromkeys(answer.options or []))
        if any(o not in option_ids for o in chosen):
            return [], _problem(question, "invalid_option", _("选项不属于这道题。"))
        other = (answer.other or "").strip()
        other_chosen = answer.other_chosen or bool(other)
        if other_chosen and not question.allow_other:
            return [], _problem(question, "other_not_allowed", _("这道题没有“其他”选项。"))
        if other_chosen and not other:
            return [], _problem(question, "other_text_required", _("选了“其他”，请写上具体内容。"))
        if len(other) > OTHER_MAX:
            return [], _problem(question, "other_too_long", _("“其他”最多 200 个字。"))
        if kind == QuestionKind.SINGLE and len(chosen) + (1 if other_chosen else 0) > 1:
            return [], _problem(question, "one_option_only", _("这是单选题，只能选一项。"))
        rows = [{"option_id": o} for o in chosen]
        if other_chosen:
            rows.append({"text": other})
    elif kind == QuestionKind.RATING:
        number = answer.number
        if number is None:
            rows = []
        elif (isinstance(number, bool) or not isinstance(number, int)
              or not 1 <= number <= question.scale_max):
            return [], _problem(question, "invalid_rating",
                                lazy_format(_("请打 1 到 %(n)d 分。"), n=question.scale_max))
        else:
            rows = [{"number": number}]
    else:
        text = (answer.text or "").strip()
        if len(text) > TEXT_MAX:
            return [], _problem(question, "text_too_long", _("回答最多 2000 个字。"))
        rows = [{"text": text}] if text else []
    if not rows and question.required:
        return [], _problem(question, "answer_required", _("这道题必须回答。"))
    return rows, None


def _release_full_batch(survey: Survey) -> None:
    """Count an anonymous survey's waiting answers once RESULTS_BATCH of them wait.

    The survey row is locked first: two racing answers must not each see the batch full
    and release one answer apiece (on PostgreSQL the second then counts afresh)."""
    list(Survey.objects.select_for_update().filter(pk=survey.pk).values_list("pk"))
    waiting = Response.objects.filter(survey=survey, released=False)
    if waiting.count() >= RESULTS_BATCH:
        waiting.update(released=True)


def announcement_key(survey_id: int) -> str:
    """The inbox message that tells a worker a survey is open (one per worker)."""
    return f"survey-{survey_id}-open"


@transaction.atomic
def response_submit(*, worker: User, survey_id: int, answers: Mapping[int, AnswerInput],
                    at: datetime | None = None) -> None:
    """Record one worker's answers. `at` is for imports and the demo; callers on behalf of
    a person leave it out. Returns nothing: for an anonymous survey there is no handle to
    give back that could be tied to the person later."""
    now = at or _now()
    survey = Survey.objects.select_related("region").filter(pk=survey_id).first()
    check_can_answer(worker, survey, now=now)
    if has_answered(worker, survey):
        raise ServiceError("already_answered", _("您已经答过这份问卷了，谢谢！"), status=409)
    questions = list(survey.questions.prefetch_related("options", "show_if_options")
                     .order_by("position"))
    by_id = {q.pk: q for q in questions}
    unknown = sorted(int(k) for k in answers if k not in by_id)
    if unknown:
        raise ServiceError("unknown_question", _("有的题目不属于这份问卷。"),
                           details={"questions": unknown})
    option_ids = {q.pk: {o.pk for o in q.options.all()} for q in questions}
    chosen = {qid: set(a.options or []) & option_ids[qid] for qid, a in answers.items()}
    shown = shown_question_ids(shapes_of(questions), chosen)
    rows, problems = [], []
    for question in questions:
        if question.pk not in shown:
            continue  # answers to hidden questions are ignored, never stored
        got, problem = _rows_for(question, answers.get(question.pk) or AnswerInput(),
                                 option_ids[question.pk])
        if problem:
            problems.append(problem)
        rows.extend((question.pk, row) for row in got)
    if problems:
        raise ServiceError("answers_invalid", _("有的题目还没答好，请看标红的地方。"),
                           details={"errors": problems})
    if not rows:
        raise ServiceError("empty_response", _("请至少回答一道题。"))
    try:
        with transaction.atomic():
            Participation.objects.create(survey=survey, worker=worker)
    except IntegrityError:
        raise ServiceError("already_answered", _("您已经答过这份问卷了，谢谢！"),
                           status=409) from None
    anonymous = survey.anonymous
    response = Response.objects.create(
        survey=survey, anonymous=anonymous,
        respondent=None if anonymous else worker,
        submitted_on=timezone.localdate(now),
        submitted_at=None if anonymous else now,
        released=not anonymous,
    )
    Answer.objects.bulk_create(
        Answer(response=response, question_id=qid, option_id=row.get("option_id"),
               number=row.get("number"), text=row.get("text", ""))
        for qid, row in rows
    )
    if anonymous:
        _release_full_batch(survey)
    notification_settle(user=worker, dedupe_key=announcement_key(survey.pk),
                        title=gettext("已答问卷：%(title)s") % {"title": survey.title})


# --- from answers to the needs list -------------------------------------------------------

@transaction.atomic
def survey_raise_need(*, actor: User, survey_id: int, option_id: int,
                      urgency: int = Urgency.LOW) -> int:
    """Put what the respondents who chose an option said on the needs list, in one step.

    The title is the option, the category the one the option maps to, the source
    "survey". Identified respondents who chose it become the need's raisers (they follow
    it and hear of its progress); an anonymous survey's need has no raisers. Returns the
    need's id."""
    survey = locked_survey(actor, survey_id)
    if survey.status == SurveyStatus.DRAFT:
        raise ServiceError("survey_not_published", _("问卷还没有发布。"), status=409)
    option = (Option.objects.select_related("question")
              .filter(pk=option_id, question__survey=survey).first())
    if option is None:
        raise NotFound("option_not_found", _("找不到这个选项。"))
    if not option.question.maps_to_need or not option.need_category:
        raise ServiceError("option_not_mapped", _("这个选项没有对应的需求类别。"))
    existing = SurveyNeed.objects.filter(option=option).first()
    if existing is not None:
        raise ServiceError("already_raised", _("这个选项已经列入需求清单。"), status=409,
                           details={"need_id": existing.need_id})
    chose = Answer.objects.filter(option=option).count()
    if not chose:
        raise ServiceError("no_answers", _("还没有人选择这个选项。"))
    answered = (Answer.objects.filter(question=option.question)
                .aggregate(n=Count("response_id", distinct=True))["n"])
    share = round(100 * chose / answered, 1) if answered else 0
    description = gettext(
        "问卷“%(survey)s”第 %(q)d 题“%(question)s”：%(n)d 位答题人（占本题答题人数的 "
        "%(p)s%%）选择了“%(label)s”。") % {
        "survey": survey.title, "q": option.question.position,
        "question": option.question.text, "n": chose, "p": share, "label": option.label}
    raisers: list[User] = []
    if not survey.anonymous:
        raisers = list(User.objects.filter(
            pk__in=Response.objects.filter(answers__option=option, respondent__isnull=False)
            .values("respondent_id")).order_by("pk"))
    need = need_raise(
        actor=actor, worker=raisers[0] if raisers else None,
        data=NeedInput(title=option.label[:80], category=option.need_category,
                       source=NeedSource.SURVEY, region_code=survey.region_id,
                       description=description, urgency=urgency),
    )
    for worker in raisers[1:]:
        need_raise_again(worker=worker, need_id=need.pk, source=NeedSource.SURVEY)
    SurveyNeed.objects.create(survey=survey, option=option, need_id=need.pk,
                              respondents=chose, raised_by=actor, raised_at=_now())
    SURVEY_WORKFLOW.record(survey, "surveys.survey.need_raised", actor=actor,
                           data={"option": option.pk, "need": need.pk}, at=_now())
    return need.pk

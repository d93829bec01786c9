"""Building a questionnaire and moving it through its states.

The state machine is SURVEY_WORKFLOW (common.workflow): it refuses anything its table does
not allow and writes a SurveyEvent. Questions can change only while the survey is a draft:
once published they are frozen, so every answer refers to the questions as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import Occupation, User
from nuanxin.common.errors import NotFound, ServiceError, lazy_format
from nuanxin.common.workflow import Change, Workflow, move
from nuanxin.needs.services import NeedCategory
from nuanxin.surveys.access import org_unit_of, region_in_scope, require_manager
from nuanxin.surveys.models import (
    CHOICE_KINDS,
    SCALE_MAX,
    SCALE_MIN,
    Option,
    Question,
    QuestionKind,
    Survey,
    SurveyEvent,
    SurveyStatus,
)

S = SurveyStatus

def _publishable(survey: Survey, change: Change) -> None:
    if not survey.questions.exists():
        raise ServiceError("no_questions", _("问卷还没有题目。"))
    if survey.closes_at <= change.at:
        raise ServiceError("invalid_window", _("截止时间已过，请先修改截止时间。"))


def _on_change(survey: Survey, change: Change) -> None:
    if change.to_state == S.PUBLISHED:
        survey.published_at = survey.published_at or change.at
        survey.closed_at = None
    if change.to_state == S.CLOSED:
        survey.closed_at = change.at


def _announce(survey_id: int, change: Change) -> None:
    from nuanxin.surveys.jobs import announce_survey

    announce_survey(survey_id)


TRANSITIONS = {
    # Reopening is not news: the riders were told once, on the first publishing.
    "publish": move({S.DRAFT}, S.PUBLISHED, "surveys.survey.published", guard=_publishable,
                    after_commit=_announce),
    "close": move({S.PUBLISHED}, S.CLOSED, "surveys.survey.closed"),
    "reopen": move({S.CLOSED}, S.PUBLISHED, "surveys.survey.reopened"),
}
SURVEY_WORKFLOW = Workflow(
    "surveys.survey", states=SurveyStatus, transitions=TRANSITIONS, history=SurveyEvent,
    refusal=_("问卷现在是“%(state)s”，不能这样操作。"), on_change=_on_change,
    also_records=("surveys.question",),
    labels={
        "surveys.survey.created": _("创建问卷"),
        "surveys.survey.updated": _("修改设置"),
        "surveys.survey.closing_changed": _("修改截止时间"),
        "surveys.survey.published": _("发布"),
        "surveys.survey.closed": _("结束"),
        "surveys.survey.reopened": _("重新开放"),
        "surveys.survey.need_raised": _("列入需求清单"),
        "surveys.question.added": _("添加题目"),
        "surveys.question.updated": _("修改题目"),
        "surveys.question.deleted": _("删除题目"),
        "surveys.question.reordered": _("调整题目顺序"),
    },
)

MAX_QUESTIONS = 50
MAX_OPTIONS = 20
MAX_WINDOW = timedelta(days=366)
TEXT_MAX = 2000


def _now() -> datetime:
    return timezone.now()


def _not_found() -> NotFound:
    return NotFound(*Survey.not_found)


def _frozen() -> ServiceError:
    return ServiceError("survey_frozen", _("问卷发布后题目不能再修改。"), status=409)


def locked_survey(actor: User, survey_id: int) -> Survey:
    """The survey, locked for this transaction, if it is inside the actor's scope."""
    require_manager(actor)
    return (Survey.objects.select_for_update().select_related("region")
            .get_visible_or_404(actor, pk=survey_id))


def _event(survey: Survey, *, actor: User | None, action: str, to_state: str = "",
           data: dict | None = None) -> SurveyEvent:
    # Ids and times go in `data`: `reason` is what a person wrote, and pages show it as is.
    return SURVEY_WORKFLOW.record(survey, action, actor=actor, to_state=to_state,
                                  data=data, at=_now())


# --- the survey itself --------------------------------------------------------------------

@dataclass
class SurveyInput:
    title: str
    region_code: str
    opens_at: datetime
    closes_at: datetime
    intro: str = ""
    occupations: list[str] = field(default_factory=list)
    anonymous: bool = False


def _validate_survey(actor: User, data: SurveyInput):
    title = (data.title or "").strip()
    if not title:
        raise ServiceError("title_required", _("请填写问卷标题。"))
    if len(title) > 80:
        raise ServiceError("title_too_long", _("标题不能超过 80 个字。"))
    intro = (data.intro or "").strip()
    if len(intro) > TEXT_MAX:
        raise ServiceError("intro_too_long", _("说明不能超过 2000 个字。"))
    occupations = list(dict.fromkeys(data.occupations or []))
    unknown = [o for o in occupations if o not in Occupation.values]
    if unknown:
        raise ServiceError("unknown_occupation", _("未知的职业。"), details={"unknown": unknown})
    for value in (data.opens_at, data.closes_at):
        if not isinstance(value, datetime) or timezone.is_naive(value):
            raise ServiceError("invalid_window", _("请填写完整的开始和截止时间。"))
    if data.closes_at <= data.opens_at:
        raise ServiceError("invalid_window", _("截止时间必须晚于开始时间。"))
    if data.closes_at - data.opens_at > MAX_WINDOW:
        raise ServiceError("invalid_window", _("答题时间最长一年。"))
    region = region_in_scope(actor, data.region_code)
    return title, intro, occupations, region


@transaction.atomic
def survey_create(*, actor: User, data: SurveyInput) -> Survey:
    title, intro, occupations, region = _validate_survey(actor, data)
    survey = Survey.objects.create(
        title=title, intro=intro, region=region, occupations=occupations,
        anonymous=bool(data.anonymous), opens_at=data.opens_at, closes_at=data.closes_at,
        org_unit=org_unit_of(actor, region), created_by=actor, created_at=_now(),
    )
    _event(survey, actor=actor, action="surveys.survey.created", to_state=survey.status)
    return survey


@transaction.atomic
def survey_update(*, actor: User, survey_id: int, data: SurveyInput) -> Survey:
    """A draft changes freely. A published survey keeps everything but its closing time
    (people have answered what they were shown); a closed one is reopened instead."""
    survey = locked_survey(actor, survey_id)
    title, intro, occupations, region = _validate_survey(actor, data)
    if survey.status == S.CLOSED:
        raise ServiceError("survey_closed", _("问卷已结束；如需继续收集，请重新开放。"),
                           status=409)
    if survey.status == S.PUBLISHED:
        unchanged = (title == survey.title and intro == survey.intro
                     and region.code == survey.region_id
                     and sorted(occupations) == sorted(survey.occupations)
                     and bool(data.anonymous) == survey.anonymous
                     and data.opens_at == survey.opens_at)
        if not unchanged:
            raise ServiceError("survey_frozen",
                               _("问卷已发布，只能修改截止时间。"), status=409)
        if data.closes_at <= _now():
            raise ServiceError("invalid_window", _("截止时间必须晚于现在。"))
        survey.closes_at = data.closes_at
        survey.save(update_fields=["closes_at"])
        _event(survey, actor=actor, action="surveys.survey.closing_changed",
               data={"closes_at": data.closes_at.isoformat()})
        return survey
    survey.title, survey.intro, survey.region = title, intro, region
    survey.occupations, survey.anonymous = occupations, bool(data.anonymous)
    survey.opens_at, survey.closes_at = data.opens_at, data.closes_at
    survey.save()
    _event(survey, actor=actor, action="surveys.survey.updated")
    return survey


@transaction.atomic
def survey_delete(*, actor: User, survey_id: int) -> None:
    survey = locked_survey(actor, survey_id)
    if survey.status != S.DRAFT:
        raise ServiceError("survey_not_draft", _("只能删除草稿；已发布的问卷请结束它。"),
                           status=409)
    survey.delete()


@transaction.atomic
def survey_copy(*, actor: User, survey_id: int) -> Survey:
    """A new draft with the same settings and questions (to run a survey again)."""
    source = locked_survey(actor, survey_id)
    now = _now()
    suffix = str(_("（副本）"))
    copy = Survey.objects.create(
        title=source.title[:80 - len(suffix)] + suffix,
        intro=source.intro, region=source.region, occupations=list(source.occupations),
        anonymous=source.anonymous, opens_at=now,
        closes_at=now + max(source.closes_at - source.opens_at, timedelta(days=1)),
        org_unit=org_unit_of(actor, source.region), created_by=actor, created_at=now,
    )
    option_map: dict[int, Option] = {}
    question_map: dict[int, Question] = {}
    questions = list(source.questions.prefetch_related("options", "show_if_options"))
    for q in questions:
        new_q = Question.objects.create(
            survey=copy, position=q.position, kind=q.kind, text=q.text, help_text=q.help_text,
            required=q.required, allow_other=q.allow_other, scale_max=q.scale_max,
            scale_low_label=q.scale_low_label, scale_high_label=q.scale_high_label,
            maps_to_need=q.maps_to_need,
            show_if=question_map.get(q.show_if_id) if q.show_if_id else None,
        )
        question_map[q.pk] = new_q
        for o in q.options.all():
            option_map[o.pk] = Option.objects.create(question=new_q, position=o.position,
                                                     label=o.label,
                                                     need_category=o.need_category)
        if q.show_if_id:
            new_q.show_if_options.set([option_map[o.pk] for o in q.show_if_options.all()])
    _event(copy, actor=actor, action="surveys.survey.created", to_state=copy.status,
           data={"copy_of": source.pk})
    return copy


# --- questions ----------------------------------------------------------------------------

@dataclass
class OptionInput:
    label: str
    need_category: str = ""
    id: int | None = None


@dataclass
class QuestionInput:
    kind: str
    text: str
    help_text: str = ""
    required: bool = True
    allow_other: bool = False
    scale_max: int | None = None
    scale_low_label: str = ""
    scale_high_label: str = ""
    maps_to_need: bool = False
    options: list[OptionInput] = field(default_factory=list)
    show_if_question_id: int | None = None
    show_if_option_ids: list[int] = field(default_factory=list)


def _draft(actor: User, survey_id: int) -> Survey:
    survey = locked_survey(actor, survey_id)
    if survey.status != S.DRAFT:
        raise _frozen()
    return survey


def _question_of(actor: User, question_id: int) -> tuple[Survey, Question]:
    survey_id = Question.objects.filter(pk=question_id).values_list("survey_id", flat=True).first()
    if survey_id is None:
        raise NotFound("question_not_found", _("找不到这道题。"))
    survey = _draft(actor, survey_id)
    return survey, Question.objects.get(pk=question_id)


def _clean_options(data: QuestionInput) -> list[OptionInput]:
    if data.kind not in CHOICE_KINDS:
        return []
    options = [OptionInput(label=(o.label or "").strip(),
                           need_category=(o.need_category or "").strip() if data.maps_to_need
                           else "", id=o.id)
               for o in data.options if (o.label or "").strip() or o.id]
    if any(not o.label for o in options):
        raise ServiceError("option_label_required", _("选项不能为空。"))
    if len(options) < 2:
        raise ServiceError("too_few_options", _("选择题至少需要两个选项。"))
    if len(options) > MAX_OPTIONS:
        raise ServiceError("too_many_options", _("选项最多 20 个。"))
    if any(len(o.label) > 100 for o in options):
        raise ServiceError("option_too_long", _("选项不能超过 100 个字。"))
    if len({o.label for o in options}) != len(options):
        raise ServiceError("duplicate_option", _("选项不能重复。"))
    bad = [o.need_category for o in options
           if o.need_category and o.need_category not in NeedCategory.values]
    if bad:
        raise ServiceError("invalid_category", _("未知的需求类别。"), details={"unknown": bad})
    if data.maps_to_need and not any(o.need_category for o in options):
        raise ServiceError("need_category_required",
                           _("“对应需求类别”的题目，至少要给一个选项选择需求类别。"))
    return options


def _clean_question(data: QuestionInput) -> dict:
    if data.kind not in QuestionKind.values:
        raise ServiceError("invalid_kind", _("未知的题型。"))
    text = (data.text or "").strip()
    if not text:
        raise ServiceError("question_text_required", _("请填写题目。"))
    if len(text) > 200:
        raise ServiceError("question_text_too_long", _("题目不能超过 200 个字。"))
    help_text = (data.help_text or "").strip()
    if len(help_text) > 200:
        raise ServiceError("help_text_too_long", _("提示不能超过 200 个字。"))
    choice = data.kind in CHOICE_KINDS
    fields = {"kind": data.kind, "text": text, "help_text": help_text,
              "required": bool(data.required),
              "allow_other": bool(data.allow_other) and choice,
              "maps_to_need": bool(data.maps_to_need) and choice,
              "scale_max": None, "scale_low_label": "", "scale_high_label": ""}
    if data.kind == QuestionKind.RATING:
        if not isinstance(data.scale_max, int) or not SCALE_MIN <= data.scale_max <= SCALE_MAX:
            raise ServiceError("invalid_scale", _("打分题的最高分应在 2 到 10 之间。"))
        low, high = (data.scale_low_label or "").strip(), (data.scale_high_label or "").strip()
        if len(low) > 20 or len(high) > 20:
            raise ServiceError("scale_label_too_long", _("分数说明不能超过 20 个字。"))
        fields.update(scale_max=data.scale_max, scale_low_label=low, scale_high_label=high)
    return fields


def _clean_condition(survey: Survey, data: QuestionInput, *, position: int | None,
                     question_id: int | None) -> tuple[Question | None, list[Option]]:
    """The source question must be an earlier choice question of the same survey."""
    if not data.show_if_question_id:
        return None, []
    source = (Question.objects.filter(pk=data.show_if_question_id, survey=survey)
              .exclude(pk=question_id).first())
    if source is None:
        raise ServiceError("invalid_condition", _("显示条件要引用本问卷中前面的题目。"))
    if source.kind not in CHOICE_KINDS:
        raise ServiceError("invalid_condition", _("只能按单选题或多选题的答案设置显示条件。"))
    if position is not None and source.position >= position:
        raise ServiceError("invalid_condition", _("显示条件只能引用前面的题目。"))
    ids = list(dict.fromkeys(data.show_if_option_ids or []))
    options = list(Option.objects.filter(question=source, pk__in=ids))
    if not ids or len(options) != len(ids):
        raise ServiceError("invalid_condition", _("请为显示条件选择前面那道题的选项。"))
    return source, options


def _sync_options(question: Question, options: list[OptionInput]) -> None:
    existing = {o.pk: o for o in question.options.all()}
    keep = {o.id for o in options if o.id}
    if not keep <= set(existing):
        raise ServiceError("invalid_option", _("选项不属于这道题。"))
    removed = set(existing) - keep
    used = Question.show_if_options.through.objects.filter(option_id__in=removed)
    if removed and used.exists():
        raise ServiceError("option_in_use",
                           _("有的题目按这个选项决定是否显示，请先修改那些题的显示条件。"),
                           status=409)
    Option.objects.filter(pk__in=removed).delete()
    # Two steps so the unique (question, position) holds at every moment.
    Option.objects.filter(question=question).update(position=models_offset())
    for index, item in enumerate(options, start=1):
        if item.id:
            Option.objects.filter(pk=item.id).update(position=index, label=item.label,
                                                     need_category=item.need_category)
        else:
            Option.objects.create(question=question, position=index, label=item.label,
                                  need_category=item.need_category)


def models_offset():
    """position + 1000: a temporary place clear of every real position (at most 50)."""
    from django.db.models import F

    return F("position") + 1000


@transaction.atomic
def question_add(*, actor: User, survey_id: int, data: QuestionInput) -> Question:
    survey = _draft(actor, survey_id)
    count = survey.questions.count()
    if count >= MAX_QUESTIONS:
        raise ServiceError("too_many_questions", _("一份问卷最多 50 道题。"))
    fields = _clean_question(data)
    options = _clean_options(data)
    last = survey.questions.aggregate(m=Max("position"))["m"] or 0
    source, condition = _clean_condition(survey, data, position=last + 1, question_id=None)
    question = Question.objects.create(survey=survey, position=last + 1, show_if=source,
                                       **fields)
    for index, item in enumerate(options, start=1):
        Option.objects.create(question=question, position=index, label=item.label,
                              need_category=item.need_category)
    question.show_if_options.set(condition)
    _event(survey, actor=actor, action="surveys.question.added", data={"question": question.pk})
    return question


@transaction.atomic
def question_update(*, actor: User, question_id: int, data: QuestionInput) -> Question:
    survey, question = _question_of(actor, question_id)
    fields = _clean_question(data)
    options = _clean_options(data)
    if question.dependents.exists() and fields["kind"] not in CHOICE_KINDS:
        raise ServiceError("question_has_dependents",
                           _("后面有题目按这道题的答案决定是否显示，不能改成非选择题。"),
                           status=409)
    source, condition = _clean_condition(survey, data, position=question.position,
                                         question_id=question.pk)
    for name, value in fields.items():
        setattr(question, name, value)
    question.show_if = source
    question.save()
    _sync_options(question, options)
    question.show_if_options.set(condition)
    _event(survey, actor=actor, action="surveys.question.updated",
           data={"question": question.pk})
    return question


@transaction.atomic
def question_delete(*, actor: User, question_id: int) -> None:
    survey, question = _question_of(actor, question_id)
    if question.dependents.exists():
        raise ServiceError("question_has_dependents",
                           _("后面有题目按这道题的答案决定是否显示，请先修改那些题的显示条件。"),
                           status=409)
    question.delete()
    _apply_order(survey, list(survey.questions.order_by("position").values_list("pk", flat=True)))
    _event(survey, actor=actor, action="surveys.question.deleted", data={"question": question_id})


def _apply_order(survey: Survey, order: list[int]) -> None:
    questions = {q.pk: q for q in survey.questions.all()}
    if sorted(order) != sorted(questions) or len(set(order)) != len(order):
        raise ServiceError("invalid_order", _("题目顺序不完整。"))
    rank = {qid: i for i, qid in enumerate(order, start=1)}
    for q in questions.values():
        if q.show_if_id and rank[q.show_if_id] >= rank[q.pk]:
            raise ServiceError(
                "condition_order",
                lazy_format(_("第 %(n)d 题的显示条件引用了它后面的题目：条件题必须排在前面。"),
                            n=rank[q.pk]), status=409)
    Question.objects.filter(survey=survey).update(position=models_offset())
    for qid, position in rank.items():
        Question.objects.filter(pk=qid).update(position=position)


@transaction.atomic
def questions_reorder(*, actor: User, survey_id: int, order: list[int]) -> None:
    survey = _draft(actor, survey_id)
    _apply_order(survey, list(order))
    _event(survey, actor=actor, action="surveys.question.reordered")


@transaction.atomic
def question_move(*, actor: User, question_id: int, offset: int) -> None:
    """Move a question up (-1) or down (+1) one place."""
    survey, question = _question_of(actor, question_id)
    order = list(survey.questions.order_by("position").values_list("pk", flat=True))
    index = order.index(question.pk)
    target = index + (1 if offset > 0 else -1)
    if not 0 <= target < len(order):
        return
    order[index], order[target] = order[target], order[index]
    _apply_order(survey, order)
    _event(survey, actor=actor, action="surveys.question.reordered")


# --- states -------------------------------------------------------------------------------

def _transition(survey: Survey, action: str, *, actor: User | None, note: str = "") -> None:
    SURVEY_WORKFLOW.apply(survey, action, actor=actor, reason=note, at=_now())


@transaction.atomic
def survey_publish(*, actor: User, survey_id: int) -> Survey:
    survey = locked_survey(actor, survey_id)
    if survey.status == S.DRAFT:
        region_in_scope(actor, survey.region_id)
    _transition(survey, "publish", actor=actor)
    return survey


@transaction.atomic
def survey_close(*, actor: User | None, survey_id: int, note: str = "") -> Survey:
    """End answering now. `actor=None` is the system (the window has passed)."""
    if actor is None:
        survey = Survey.objects.select_for_update().filter(pk=survey_id).first()
        if survey is None:
            raise _not_found()
    else:
        survey = locked_survey(actor, survey_id)
    _transition(survey, "close", actor=actor, note=note)
    return survey


@transaction.atomic
def survey_reopen(*, actor: User, survey_id: int, closes_at: datetime) -> Survey:
    survey = locked_survey(actor, survey_id)
    if survey.status == S.CLOSED:
        if not isinstance(closes_at, datetime) or timezone.is_naive(closes_at):
            raise ServiceError("invalid_window", _("请填写新的截止时间。"))
        if closes_at <= _now() or closes_at <= survey.opens_at:
            raise ServiceError("invalid_window", _("新的截止时间必须晚于现在。"))
        if closes_at - survey.opens_at > MAX_WINDOW:
            raise ServiceError("invalid_window", _("答题时间最长一年。"))
        survey.closes_at = closes_at
    _transition(survey, "reopen", actor=actor, note=closes_at.isoformat()
                if isinstance(closes_at, datetime) else "")
    return survey


@transaction.atomic
def surveys_close_expired(*, now: datetime | None = None) -> int:
    """Published surveys whose closing time has passed become closed (a periodic job)."""
    now = now or _now()
    ids = list(Survey.objects.filter(status=S.PUBLISHED, closes_at__lte=now)
               .values_list("pk", flat=True))
    for survey_id in ids:
        survey_close(actor=None, survey_id=survey_id)
    return len(ids)

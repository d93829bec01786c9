"""Questionnaires (问卷) and home visits (两问大家访).

A survey is built by staff (questions, options, conditions), published to a target group
(workers whose home community lies inside a region, optionally of certain occupations)
for an answering window, and answered once per worker.

Anonymous surveys are anonymous by construction, not by a promise of the pages: see
`Response` and docs/decisions/0004-anonymous-surveys.md.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from nuanxin.common.scoping import RegionScopedQuerySet
from nuanxin.common.workflow import HistoryEntry


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")
    CLOSED = "closed", _("已结束")


class QuestionKind(models.TextChoices):
    SINGLE = "single", _("单选")
    MULTIPLE = "multiple", _("多选")
    RATING = "rating", _("打分")
    TEXT = "text", _("填空")


CHOICE_KINDS = (QuestionKind.SINGLE, QuestionKind.MULTIPLE)
SCALE_MIN, SCALE_MAX = 2, 10


class Survey(models.Model):
    # common.scoping: staff see the surveys aimed at their region subtree
    region_path = "region"
    not_found = ("survey_not_found", _("找不到这份问卷。"))

    title = models.CharField(_("标题"), max_length=80)
    intro = models.TextField(_("说明"), blank=True)
    org_unit = models.ForeignKey("accounts.OrgUnit", on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("发起单位"))
    # Target group: workers whose home community lies inside this region ...
    region = models.ForeignKey("geo.Region", on_delete=models.PROTECT,
                               verbose_name=_("面向区域"))
    # ... and, when the list is not empty, whose occupation is one of these codes.
    occupations = models.JSONField(_("面向职业"), default=list, blank=True)
    anonymous = models.BooleanField(_("匿名"), default=False)
    opens_at = models.DateTimeField(_("开始时间"))
    closes_at = models.DateTimeField(_("截止时间"))
    status = models.CharField(_("状态"), max_length=12, choices=SurveyStatus.choices,
                              default=SurveyStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = RegionScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("问卷")
        verbose_name_plural = _("问卷")
        indexes = [models.Index(fields=["status", "region"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["draft", "published", "closed"]),
                name="survey_status_known"),
            models.CheckConstraint(condition=models.Q(closes_at__gt=models.F("opens_at")),
                                   name="survey_window_ordered"),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(published_at__isnull=False),
                name="survey_published_has_time"),
        ]

    def __str__(self) -> str:
        return self.title


class SurveyEvent(HistoryEntry):
    """Append-only history of a survey's state: who, when, from, to, why."""

    subject_field = "survey"

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="events")

    class Meta(HistoryEntry.Meta):
        pass


class Question(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(_("题型"), max_length=10, choices=QuestionKind.choices)
    text = models.CharField(_("题目"), max_length=200)
    help_text = models.CharField(_("提示"), max_length=200, blank=True)
    required = models.BooleanField(_("必答"), default=True)
    allow_other = models.BooleanField(_("可填“其他”"), default=False)
    scale_max = models.PositiveSmallIntegerField(_("最高分"), null=True, blank=True)
    scale_low_label = models.CharField(_("最低分说明"), max_length=20, blank=True)
    scale_high_label = models.CharField(_("最高分说明"), max_length=20, blank=True)
    # The options of this question name need categories; staff can turn the answers into
    # needs on the results page.
    maps_to_need = models.BooleanField(_("对应需求类别"), default=False)
    # Conditional display: shown only if `show_if` (an earlier choice question) was
    # answered with one of `show_if_options`. RESTRICT: a question others depend on
    # cannot be deleted alone, but goes with its survey.
    show_if = models.ForeignKey("self", null=True, blank=True, on_delete=models.RESTRICT,
                                related_name="dependents")
    show_if_options = models.ManyToManyField("Option", blank=True, related_name="+")

    class Meta:
        ordering = ["survey", "position"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "position"],
                                    name="question_position_unique"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["single", "multiple", "rating", "text"]),
                name="question_kind_known"),
            models.CheckConstraint(
                condition=(models.Q(kind="rating", scale_max__isnull=False,
                                    scale_max__gte=SCALE_MIN, scale_max__lte=SCALE_MAX)
                           | (~models.Q(kind="rating") & models.Q(scale_max__isnull=True))),
                name="question_scale_iff_rating"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["single", "multiple"])
                | models.Q(allow_other=False, maps_to_need=False),
                name="question_other_and_need_only_for_choices"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.text}"

    @property
    def is_choice(self) -> bool:
        return self.kind in CHOICE_KINDS


class Option(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveSmallIntegerField()
    label = models.CharField(_("选项"), max_length=100)
    # A needs-list category code (needs' NeedCategory values), or "".
    need_category = models.CharField(_("需求类别"), max_length=20, blank=True)

    class Meta:
        ordering = ["question", "position"]
        constraints = [
            models.UniqueConstraint(fields=["question", "position"],
                                    name="option_position_unique"),
        ]

    def __str__(self) -> str:
        return self.label


class Participation(models.Model):
    """That a worker has answered a survey: the once-only rule and the response rate.

    It says nothing about *what* they answered and is deliberately unlinkable to the
    answers: a random primary key (no insertion order), no timestamp, and no column that
    the `Response` rows share apart from the survey. The unique constraint is what makes
    "one answer per worker" hold under concurrent submissions.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="participations")
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="survey_participations")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey", "worker"], name="participation_once"),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} answered {self.survey_id}"


# Anonymous results move in steps of this many answers (and so never show fewer).
RESULTS_BATCH = 5


class Response(models.Model):
    """One completed questionnaire.

    Anonymous surveys: the row holds no reference to a person (`respondent` is NULL,
    enforced by a check constraint), no time finer than the day (`submitted_on`;
    `submitted_at` is NULL), and a random UUID primary key, so neither its key nor its
    position in any listing reveals the order in which people answered. The answers
    (`Answer`) have random keys too. That the worker took part is recorded separately in
    `Participation`, which shares nothing with this row but the survey. No page, API
    endpoint or export can therefore join an anonymous answer to a person: the link is not
    stored anywhere. (What remains at the level of raw database internals is discussed in
    docs/decisions/0004-anonymous-surveys.md.)

    Identified surveys keep the respondent and the exact time.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    anonymous = models.BooleanField()
    respondent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.CASCADE, related_name="survey_responses")
    submitted_on = models.DateField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    # An anonymous answer waits until RESULTS_BATCH of them are waiting, then all are
    # counted together, so results never move by one person's answer (decision 0004).
    released = models.BooleanField(default=True, db_default=True)

    class Meta:
        indexes = [models.Index(fields=["survey", "submitted_on"]),
                   models.Index(fields=["survey", "released"], name="response_survey_released")]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(anonymous=True, respondent__isnull=True,
                                    submitted_at__isnull=True)
                           | models.Q(anonymous=False, respondent__isnull=False,
                                      submitted_at__isnull=False)),
                name="response_anonymous_has_no_person_or_time"),
            models.UniqueConstraint(fields=["survey", "respondent"],
                                    condition=models.Q(respondent__isnull=False),
                                    name="response_once_per_respondent"),
        ]

    def __str__(self) -> str:
        return f"response to {self.survey_id}"


class Answer(models.Model):
    """One piece of a response. A ticked option is one row with `option`; the "other"
    text of a choice question, a free-text answer and a rating are one row without.
    Answers to questions the respondent was not shown are never stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed first in (response, question, ...) below.
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers",
                                 db_index=False)
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    option = models.ForeignKey(Option, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="answers")
    number = models.SmallIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)

    class Meta:
        # (question, option, number, response) covers every results query, so counting
        # 100,000 responses reads the index only; (response, question, ...) covers the
        # cross-tab's lookups of one response's other answer.
        indexes = [
            models.Index(fields=["response", "question", "option", "number"]),
            models.Index(fields=["question", "option", "number", "response"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["response", "question", "option"],
                                    condition=models.Q(option__isnull=False),
                                    name="answer_option_once"),
            models.UniqueConstraint(fields=["response", "question"],
                                    condition=models.Q(option__isnull=True),
                                    name="answer_value_once"),
            models.CheckConstraint(
                condition=(models.Q(option__isnull=False, number__isnull=True, text="")
                           | models.Q(option__isnull=True, number__isnull=False, text="")
                           | (models.Q(option__isnull=True, number__isnull=True)
                              & ~models.Q(text=""))),
                name="answer_one_kind_of_value"),
        ]

    def __str__(self) -> str:
        return f"answer to {self.question_id}"


class SurveyNeed(models.Model):
    """An option's aggregated answers turned into an item of the needs list.

    `need_id` is the needs app's id, not a foreign key: surveys use needs through its
    services only."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="needs")
    option = models.OneToOneField(Option, on_delete=models.CASCADE, related_name="need_link")
    need_id = models.PositiveBigIntegerField()
    respondents = models.PositiveIntegerField()
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    raised_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.option_id} → need {self.need_id}"


# --- home visits (两问大家访) ---------------------------------------------------------------

class VisitQuestion(models.TextChoices):
    DIFFICULTY = "difficulty", _("家里有什么困难事？")
    COMMUNITY = "community", _("社区要办什么事？")


class HomeVisit(models.Model):
    """A staff member's visit to a worker (or a household without an account)."""

    region_path = "region"
    not_found = ("visit_not_found", _("找不到这次走访记录。"))

    region = models.ForeignKey("geo.Region", on_delete=models.PROTECT,
                               verbose_name=_("所在社区"))
    org_unit = models.ForeignKey("accounts.OrgUnit", on_delete=models.PROTECT,
                                 related_name="+")
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.CASCADE, related_name="home_visits")
    household_name = models.CharField(_("住户称呼"), max_length=40, blank=True)
    household_address = models.CharField(_("住址"), max_length=120, blank=True)
    visited_at = models.DateTimeField(_("走访时间"))
    place = models.CharField(_("走访地点"), max_length=120, blank=True)
    visitor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()

    objects = RegionScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-visited_at", "-id"]
        verbose_name = _("走访")
        verbose_name_plural = _("走访")
        indexes = [
            models.Index(fields=["region", "visited_at"]),
            models.Index(fields=["worker", "visited_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(worker__isnull=False) | ~models.Q(household_name=""),
                name="visit_names_someone"),
        ]

    def __str__(self) -> str:
        return f"visit {self.pk}"


class VisitAnswer(models.Model):
    region_path = "visit__region"
    not_found = HomeVisit.not_found

    visit = models.ForeignKey(HomeVisit, on_delete=models.CASCADE, related_name="answers")
    question = models.CharField(max_length=12, choices=VisitQuestion.choices)
    text = models.TextField(_("回答"), blank=True)
    categories = models.JSONField(_("类别"), default=list, blank=True)
    need_id = models.PositiveBigIntegerField(null=True, blank=True)

    objects = RegionScopedQuerySet.as_manager()

    class Meta:
        ordering = ["visit", "question"]
        constraints = [
            models.UniqueConstraint(fields=["visit", "question"], name="visit_answer_once"),
            models.CheckConstraint(condition=models.Q(question__in=["difficulty", "community"]),
                                   name="visit_answer_question_known"),
        ]

    def __str__(self) -> str:
        return f"{self.visit_id} {self.question}"


class VisitFollowUp(models.Model):
    region_path = "visit__region"
    not_found = ("follow_up_not_found", _("找不到这条跟进事项。"))

    visit = models.ForeignKey(HomeVisit, on_delete=models.CASCADE, related_name="follow_ups")
    note = models.CharField(_("跟进事项"), max_length=200)
    due_on = models.DateField(_("期限"))
    done = models.BooleanField(_("已完成"), default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    objects = RegionScopedQuerySet.as_manager()

    class Meta:
        ordering = ["done", "due_on", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(done=False) | models.Q(done_at__isnull=False),
                                   name="followup_done_has_time"),
        ]

    def __str__(self) -> str:
        return self.note


class VisitPlan(models.Model):
    """A visit planned for a day; done when a visit to the worker is recorded that week."""

    region_path = "region"
    not_found = ("plan_not_found", _("找不到这条走访计划。"))

    region = models.ForeignKey("geo.Region", on_delete=models.PROTECT)
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="visit_plans")
    planned_on = models.DateField(_("计划日期"))
    planned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    visit = models.ForeignKey(HomeVisit, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="plans")
    created_at = models.DateTimeField()

    objects = RegionScopedQuerySet.as_manager()

    class Meta:
        ordering = ["planned_on", "id"]
        indexes = [models.Index(fields=["region", "planned_on"])]
        constraints = [
            models.UniqueConstraint(fields=["worker", "planned_on"], name="visit_plan_once_a_day"),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} on {self.planned_on}"

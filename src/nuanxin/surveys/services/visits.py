"""Home visits (两问大家访): record a visit with the two answers, follow it up, turn an
answer into a need, and plan the week's visits.

The two questions are fixed by the practice the platform supports: 一问家里有什么困难事，
二问社区要办什么事. Each answer is free text plus need categories, so it can go onto the
needs list in one step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import User
from nuanxin.accounts.phones import normalize_phone
from nuanxin.accounts.selectors import users_visible_to
from nuanxin.common.errors import NotFound, ServiceError
from nuanxin.common.scoping import in_scope
from nuanxin.needs.services import NeedCategory, NeedInput, NeedSource, Urgency, need_raise
from nuanxin.surveys.access import org_unit_of, region_in_scope, require_manager
from nuanxin.surveys.models import (
    HomeVisit,
    VisitAnswer,
    VisitFollowUp,
    VisitPlan,
    VisitQuestion,
)

TEXT_MAX = 2000
MAX_FOLLOW_UPS = 10
FUTURE_TOLERANCE = timedelta(hours=1)
OLDEST_VISIT = timedelta(days=2 * 366)


def _now() -> datetime:
    return timezone.now()


def week_of(day: date) -> tuple[date, date]:
    """Monday and Sunday of the week `day` is in."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def worker_in_scope(actor: User, *, phone: str = "", worker_id: int | None = None) -> User:
    """A worker living inside the actor's region, by phone number or id."""
    require_manager(actor)
    qs = users_visible_to(actor).select_related("worker_profile__home_region")
    if worker_id is not None:
        worker = qs.filter(pk=worker_id).first()
    else:
        worker = qs.filter(phone=normalize_phone(phone)).first()
    if worker is None:
        raise NotFound("worker_not_found",
                       _("您的辖区里没有这个手机号的骑手；没有账号的住户请按住户登记。"))
    return worker


def _categories(values: list[str] | None) -> list[str]:
    values = list(dict.fromkeys(v for v in (values or []) if v))
    bad = [v for v in values if v not in NeedCategory.values]
    if bad:
        raise ServiceError("invalid_category", _("未知的需求类别。"), details={"unknown": bad})
    return values


def _text(value: str | None, code: str) -> str:
    value = (value or "").strip()
    if len(value) > TEXT_MAX:
        raise ServiceError(code, _("回答最多 2000 个字。"))
    return value


@dataclass
class FollowUpInput:
    note: str
    due_on: date


@dataclass
class VisitInput:
    visited_at: datetime
    worker_phone: str = ""
    worker_id: int | None = None
    household_name: str = ""
    household_address: str = ""
    region_code: str = ""
    place: str = ""
    difficulty_text: str = ""
    difficulty_categories: list[str] = field(default_factory=list)
    community_text: str = ""
    community_categories: list[str] = field(default_factory=list)
    follow_ups: list[FollowUpInput] = field(default_factory=list)


def _clean_follow_up(note: str, due_on) -> tuple[str, date]:
    note = (note or "").strip()
    if not note:
        raise ServiceError("follow_up_note_required", _("请写明跟进事项。"))
    if len(note) > 200:
        raise ServiceError("follow_up_note_too_long", _("跟进事项最多 200 个字。"))
    if not isinstance(due_on, date):
        raise ServiceError("follow_up_due_required", _("请填写跟进期限。"))
    return note, due_on


@transaction.atomic
def visit_record(*, actor: User, data: VisitInput) -> HomeVisit:
    require_manager(actor)
    by_worker = bool((data.worker_phone or "").strip()) or data.worker_id is not None
    household = (data.household_name or "").strip()
    if by_worker and household:
        raise ServiceError("visit_target_ambiguous",
                           _("请选择走访骑手（按手机号）或登记住户，不要同时填写。"))
    worker = None
    if by_worker:
        worker = worker_in_scope(actor, phone=data.worker_phone, worker_id=data.worker_id)
        home = getattr(worker.worker_profile, "home_region", None)
        region = home if home is not None and in_scope(actor, home.code) else None
        if region is None:
            region = region_in_scope(actor, data.region_code)
    else:
        if not household:
            raise ServiceError("visit_target_required",
                               _("请填写走访对象：骑手手机号，或住户称呼和地址。"))
        if len(household) > 40:
            raise ServiceError("household_name_too_long", _("称呼最多 40 个字。"))
        region = region_in_scope(actor, data.region_code)
    address = (data.household_address or "").strip()
    place = (data.place or "").strip()
    if len(address) > 120 or len(place) > 120:
        raise ServiceError("address_too_long", _("地址最多 120 个字。"))
    visited_at = data.visited_at
    now = _now()
    if not isinstance(visited_at, datetime) or timezone.is_naive(visited_at):
        raise ServiceError("visited_at_required", _("请填写走访时间。"))
    if visited_at > now + FUTURE_TOLERANCE:
        raise ServiceError("visited_at_in_future",
                           _("走访时间不能晚于现在；要安排走访请用走访计划。"))
    if visited_at < now - OLDEST_VISIT:
        raise ServiceError("visited_at_too_old", _("只能补记两年内的走访。"))
    answers = {
        VisitQuestion.DIFFICULTY: (_text(data.difficulty_text, "answer_too_long"),
                                   _categories(data.difficulty_categories)),
        VisitQuestion.COMMUNITY: (_text(data.community_text, "answer_too_long"),
                                  _categories(data.community_categories)),
    }
    if len(data.follow_ups) > MAX_FOLLOW_UPS:
        raise ServiceError("too_many_follow_ups", _("一次最多登记 10 条跟进事项。"))
    follow_ups = [_clean_follow_up(f.note, f.due_on) for f in data.follow_ups]
    visit = HomeVisit.objects.create(
        region=region, org_unit=org_unit_of(actor, region), worker=worker,
        household_name="" if worker else household, household_address=address,
        visited_at=visited_at, place=place, visitor=actor, created_at=now,
    )
    VisitAnswer.objects.bulk_create(
        VisitAnswer(visit=visit, question=q, text=text, categories=cats)
        for q, (text, cats) in answers.items())
    VisitFollowUp.objects.bulk_create(
        VisitFollowUp(visit=visit, note=note, due_on=due, created_by=actor)
        for note, due in follow_ups)
    if worker is not None:
        monday, sunday = week_of(timezone.localdate(visited_at))
        plan = (VisitPlan.objects.select_for_update()
                .filter(worker=worker, visit__isnull=True, planned_on__range=(monday, sunday))
                .order_by("planned_on").first())
        if plan is not None:
            plan.visit = visit
            plan.save(update_fields=["visit"])
    return visit


def _visit_in_scope(actor: User, visit_id: int, *, lock: bool = False) -> HomeVisit:
    require_manager(actor)
    qs = HomeVisit.objects.select_for_update() if lock else HomeVisit.objects
    return qs.get_visible_or_404(actor, pk=visit_id)


def first_sentence(text: str) -> str:
    head = re.split(r"(?<=[。！？!?；;\n])", text.strip(), maxsplit=1)[0].strip()
    head = head.rstrip("。；;")
    return head[:80] or text.strip()[:80]


@transaction.atomic
def visit_answer_to_need(*, actor: User, answer_id: int, title: str = "", category: str = "",
                         urgency: int = Urgency.LOW) -> int:
    """Put one of a visit's answers on the needs list (source "visit"); the visited worker,
    when known, is its raiser. Returns the need's id."""
    require_manager(actor)
    answer = VisitAnswer.objects.select_for_update().get_visible_or_404(actor, pk=answer_id)
    if answer.need_id:
        raise ServiceError("already_raised", _("这条回答已经列入需求清单。"), status=409,
                           details={"need_id": answer.need_id})
    if not answer.text.strip():
        raise ServiceError("answer_empty", _("这条回答是空的。"))
    visit = answer.visit
    category = category or (answer.categories[0] if answer.categories else NeedCategory.OTHER)
    where = visit.place or visit.household_address
    description = gettext("%(question)s %(answer)s（%(date)s 走访%(where)s）") % {
        "question": VisitQuestion(answer.question).label, "answer": answer.text,
        "date": timezone.localtime(visit.visited_at).strftime("%Y-%m-%d"),
        "where": f"，{where}" if where else ""}
    need = need_raise(
        actor=actor, worker=visit.worker,
        data=NeedInput(title=(title or "").strip() or first_sentence(answer.text),
                       category=category, source=NeedSource.VISIT,
                       region_code=visit.region_id, description=description[:2000],
                       urgency=urgency),
    )
    answer.need_id = need.pk
    answer.save(update_fields=["need_id"])
    return need.pk


@transaction.atomic
def follow_up_add(*, actor: User, visit_id: int, note: str, due_on: date) -> VisitFollowUp:
    visit = _visit_in_scope(actor, visit_id, lock=True)
    if visit.follow_ups.count() >= MAX_FOLLOW_UPS * 3:
        raise ServiceError("too_many_follow_ups", _("跟进事项太多了。"))
    note, due_on = _clean_follow_up(note, due_on)
    return VisitFollowUp.objects.create(visit=visit, note=note, due_on=due_on,
                                        created_by=actor)


@transaction.atomic
def follow_up_set_done(*, actor: User, follow_up_id: int, done: bool = True) -> VisitFollowUp:
    require_manager(actor)
    item = VisitFollowUp.objects.select_for_update().get_visible_or_404(actor, pk=follow_up_id)
    item.done = bool(done)
    item.done_at = _now() if item.done else None
    item.save(update_fields=["done", "done_at"])
    return item


@transaction.atomic
def plan_add(*, actor: User, planned_on: date, worker_id: int | None = None,
             worker_phone: str = "") -> VisitPlan:
    worker = worker_in_scope(actor, phone=worker_phone, worker_id=worker_id)
    home = getattr(worker.worker_profile, "home_region", None)
    if home is None:
        raise ServiceError("home_region_unknown", _("这位骑手没有填写常住社区。"))
    if not isinstance(planned_on, date):
        raise ServiceError("planned_on_required", _("请选择日期。"))
    if planned_on < timezone.localdate():
        raise ServiceError("planned_on_past", _("不能把走访安排在过去的日期。"))
    if planned_on > timezone.localdate() + timedelta(days=366):
        raise ServiceError("planned_on_too_far", _("只能安排一年之内的走访。"))
    try:
        with transaction.atomic():
            return VisitPlan.objects.create(region=home, worker=worker, planned_on=planned_on,
                                            planned_by=actor, created_at=_now())
    except IntegrityError:
        raise ServiceError("already_planned", _("这一天已经安排了走访这位骑手。"),
                           status=409) from None


@transaction.atomic
def plan_remove(*, actor: User, plan_id: int) -> None:
    require_manager(actor)
    plan = VisitPlan.objects.get_visible_or_404(actor, pk=plan_id)
    if plan.visit_id:
        raise ServiceError("plan_done", _("已经走访过了，不能取消。"), status=409)
    plan.delete()

"""Write use cases for the needs list: raise, accept, decline, merge, resolve, rate, escalate.

The state machine is NEED_WORKFLOW (common.workflow); every change goes through
`_transition`, which lets the workflow refuse anything its table does not allow and write the
NeedEvent, then tells the people who raised or follow the need.

Notifications here are rows in the platform's own inbox table, written in the same
transaction as the change they report: if the change rolls back, so does the message, and
a committed change never lacks its message. (Side effects outside the database, such as SMS,
would go through `transaction.on_commit`.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import MANAGER_ROLES, OrgUnit, User, UserKind
from nuanxin.accounts.selectors import staff_profile_of
from nuanxin.accounts.services import notify_many
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.common.scoping import access_of, covers
from nuanxin.common.workflow import Change, Workflow, move
from nuanxin.geo.models import Region
from nuanxin.needs.models import (
    OPEN_STATUSES,
    PRIVATE_CATEGORIES,
    Need,
    NeedCategory,
    NeedEvent,
    NeedFeedback,
    NeedFollower,
    NeedRaiser,
    NeedSource,
    NeedStatus,
    Urgency,
)

S = NeedStatus

TRANSITIONS = {
    "accept": move({S.SUBMITTED}, S.ACCEPTED, "needs.need.accepted"),
    "decline": move({S.SUBMITTED}, S.DECLINED, "needs.need.declined"),
    "attach_to_project": move({S.SUBMITTED, S.ACCEPTED}, S.IN_PROJECT,
                              "needs.need.attached_to_project"),
    "detach_from_project": move({S.IN_PROJECT}, S.ACCEPTED, "needs.need.detached_from_project"),
    "resolve": move({S.ACCEPTED, S.IN_PROJECT}, S.RESOLVED, "needs.need.resolved"),
    "mark_not_feasible": move({S.ACCEPTED, S.IN_PROJECT}, S.NOT_FEASIBLE,
                              "needs.need.not_feasible"),
    "merge": move({S.SUBMITTED, S.ACCEPTED}, S.MERGED, "needs.need.merged"),
    # Who needs this: the community secretary. A need "not feasible" today often becomes
    # feasible when a new partner joins the alliance (the article's cabinet operator, a
    # bank's night class), and a need declined by mistake must be put right without
    # asking the rider to raise it again. Reopening takes it back as accepted, with a new
    # target date. A *resolved* need is not reopened: if the problem comes back it is a new
    # need (the old one stays counted as solved, and its raisers' rating says how well).
    "reopen": move({S.DECLINED, S.NOT_FEASIBLE}, S.ACCEPTED, "needs.need.reopened"),
}

# Days from acceptance to the promised answer, by category.
TARGET_DAYS = {
    NeedCategory.CHARGING: 60, NeedCategory.REST_SPACE: 30, NeedCategory.CHILDCARE: 30,
    NeedCategory.SKILLS: 45, NeedCategory.LEGAL: 15, NeedCategory.HEALTH: 15,
    NeedCategory.HOUSING: 60, NeedCategory.TRAFFIC_PARKING: 30,
    NeedCategory.PLATFORM_RULES: 30, NeedCategory.OTHER: 30,
}
# Days from submission to acceptance or a reasoned refusal: a need nobody looks at is
# overdue (and escalated) too, not only one that was accepted and then left.
RESPONSE_DAYS = 7

TITLE_MAX = 80
DESCRIPTION_MAX = 2000
NOTE_MAX = 1000
COMMENT_MAX = 500
PROJECT_REF_MAX = 40
MERGE_MAX = 50

# What the people who raised a need are told, by action (detach is internal: no message).
ACTION_MESSAGES = {
    "accept": _("您反映的“%(title)s”已受理，目标 %(date)s 前给出答复。"),
    "decline": _("您反映的“%(title)s”未被受理：%(note)s"),
    "attach_to_project": _("您反映的“%(title)s”已纳入项目推进。"),
    "resolve": _("您反映的“%(title)s”已解决，请为处理结果打分。"),
    "mark_not_feasible": _("您反映的“%(title)s”暂时无法解决：%(note)s"),
    "reopen": _("您反映的“%(title)s”重新受理，目标 %(date)s 前给出答复。"),
    "merge": _("您反映的“%(title)s”与相同的需求合并处理，进展会继续通知您。"),
}


def _now() -> datetime:
    return timezone.now()


def need_link(need_id: int) -> str:
    return f"/needs/{need_id}/"


def console_link(need_id: int) -> str:
    return f"/console/needs/{need_id}/"


def owner_for_region(region: Region) -> OrgUnit:
    """The organisation unit at the region, or the nearest one above it."""
    codes = []
    node = region
    while node is not None:
        codes.append(node.code)
        node = node.parent
    units = {u.region_id: u for u in OrgUnit.objects.filter(region_id__in=codes)
             .select_related("region__parent").order_by("pk")}
    for code in codes:
        if code in units:
            return units[code]
    raise ServiceError("no_owner_unit", _("这个区划还没有负责的党群服务中心。"))


def _not_found() -> NotFound:
    return NotFound(*Need.not_found)


def _require_manager(user: User, need: Need) -> None:
    """Managers of the needs list (station keepers only raise needs) in the need's region;
    out of region is "not found"."""
    access = access_of(user)
    if access.superuser:
        return
    if access.role not in MANAGER_ROLES:
        raise PermissionDenied("not_allowed", _("您没有管理需求清单的权限。"))
    if not covers(access.prefix, need.region_id):
        raise _not_found()


def _locked(need_id: int) -> Need:
    need = Need.objects.select_for_update().filter(pk=need_id).first()
    if need is None:
        raise _not_found()
    return need


def _locked_open_target(need: Need) -> Need:
    """Follow a merged need to the one it now lives in (merges can chain)."""
    seen = set()
    while need.status == S.MERGED and need.merged_into_id not in seen:
        seen.add(need.pk)
        need = _locked(need.merged_into_id)
    return need


def _audience(need: Need) -> list[int]:
    raisers = NeedRaiser.objects.filter(need=need).values_list("worker_id", flat=True)
    followers = NeedFollower.objects.filter(need=need).values_list("user_id", flat=True)
    return list(dict.fromkeys([*raisers, *followers]))


def _unit_of(actor: User | None) -> OrgUnit | None:
    if actor is None:
        return None
    profile = staff_profile_of(actor)
    return profile.org_unit if profile else None


def _event(need: Need, *, actor: User | None, action: str, to_state: str = "",
           data: dict | None = None, at: datetime | None = None) -> NeedEvent:
    return NEED_WORKFLOW.record(need, action, actor=actor, to_state=to_state, data=data,
                                at=at or _now(), extra={"actor_unit": _unit_of(actor)})


def _message(template, **values) -> str:
    """A stored message is written once for everyone, in the site's language (recipients'
    languages are not known); the page around it follows the reader's language."""
    with translation.override(settings.LANGUAGE_CODE):
        return (gettext(str(template)) % values)[:120]


def _notify_people(*, user_ids: list[int], action: str, need: Need, note: str, link_id: int,
                   dedupe: str) -> None:
    template = ACTION_MESSAGES.get(action)
    if template is None or not user_ids:
        return
    title = _message(template, title=need.title, note=note or "-",
                     date=need.target_date.isoformat() if need.target_date else "-")
    notify_many(user_ids=user_ids, title=title, body=note, link=need_link(link_id),
                dedupe_key=dedupe)


def _notify_staff(*, unit: OrgUnit, title: str, need: Need, dedupe: str) -> None:
    staff_ids = list(unit.staff.values_list("user_id", flat=True))
    if staff_ids:
        notify_many(user_ids=staff_ids, title=title, link=console_link(need.pk),
                    dedupe_key=dedupe)


def _set_target(need: Need, today: date) -> None:
    need.target_date = today + timedelta(days=TARGET_DAYS[NeedCategory(need.category)])


def _on_change(need: Need, change: Change) -> None:
    today = timezone.localdate(change.at)
    # Entering the accepted part of the workflow (directly, or straight into a project)
    # starts the clock of the category's target; reopening restarts it.
    if change.to_state in (S.ACCEPTED, S.IN_PROJECT) and need.accepted_at is None:
        need.accepted_at = change.at
        _set_target(need, today)
    elif change.action == "reopen":
        _set_target(need, today)
    if change.to_state == S.RESOLVED:
        need.resolved_at = change.at
    if change.action == "reopen":
        need.outcome = ""


NEED_WORKFLOW = Workflow(
    "needs.need", states=NeedStatus, transitions=TRANSITIONS, history=NeedEvent,
    refusal=_("这条需求现在是“%(state)s”，不能这样操作。"), on_change=_on_change,
    labels={
        "needs.need.raised": _("提交了需求"),
        "needs.need.raised_again": _("又有一位骑手反映了同样的问题"),
        "needs.need.accepted": _("受理了需求"),
        "needs.need.declined": _("不予受理"),
        "needs.need.attached_to_project": _("纳入项目推进"),
        "needs.need.detached_from_project": _("移出项目，继续跟进"),
        "needs.need.resolved": _("已解决"),
        "needs.need.not_feasible": _("暂时无法解决"),
        "needs.need.merged": _("与相同的需求合并处理"),
        "needs.need.absorbed": _("合并了一条相同的需求"),
        "needs.need.escalated": _("逾期未办结，升级到上一级"),
        "needs.need.updated": _("修改了需求信息"),
        "needs.need.reopened": _("重新受理了需求"),
    },
)


def _transition(need: Need, action: str, *, actor: User | None, note: str = "",
                notify: bool = True, data: dict | None = None) -> NeedEvent:
    event = NEED_WORKFLOW.apply(need, action, actor=actor, reason=note, data=data,
                                at=_now(), extra={"actor_unit": _unit_of(actor)})
    if notify:
        _notify_people(user_ids=_audience(need), action=action, need=need, note=note,
                       link_id=need.pk, dedupe=f"need-event-{event.pk}")
    return event


@dataclass
class NeedInput:
    title: str
    category: str
    source: str
    region_code: str
    description: str = ""
    urgency: int = Urgency.LOW
    lat: float | None = None
    lng: float | None = None


def _check_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise ServiceError("title_required", _("请用一句话说明需求。"))
    if len(title) > TITLE_MAX:
        raise ServiceError("title_too_long", _("标题不能超过 80 个字。"))
    return title


def _check_description(description: str) -> str:
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise ServiceError("description_too_long", _("描述不能超过 2000 个字。"))
    return description


def _check_category(category: str) -> str:
    if category not in NeedCategory.values:
        raise ServiceError("invalid_category", _("未知的需求类别。"))
    return category


def _check_urgency(urgency) -> int:
    if isinstance(urgency, bool) or urgency not in Urgency.values:
        raise ServiceError("invalid_urgency", _("未知的紧急程度。"))
    return int(urgency)


def _check_text(value: str, *, code: str, message, limit: int = NOTE_MAX) -> str:
    value = (value or "").strip()
    if not value:
        raise ServiceError(code, message)
    if len(value) > limit:
        raise ServiceError("text_too_long", _("说明不能超过 1000 个字。"))
    return value


def _validate(data: NeedInput) -> Region:
    data.title = _check_title(data.title)
    data.description = _check_description(data.description)
    _check_category(data.category)
    if data.source not in NeedSource.values:
        raise ServiceError("invalid_source", _("未知的需求来源。"))
    data.urgency = _check_urgency(data.urgency)
    if (data.lat is None) != (data.lng is None) or (
        data.lat is not None and not (-90 <= data.lat <= 90 and -180 <= data.lng <= 180)
    ):
        raise ServiceError("invalid_coordinates", _("坐标不正确。"))
    region = Region.objects.select_related("parent__parent__parent__parent").filter(
        code=data.region_code).first()
    if region is None:
        raise ServiceError("unknown_region", _("没有这个行政区划代码。"))
    return region


@transaction.atomic
def need_raise(*, actor: User, data: NeedInput, worker: User | None = None) -> Need:
    """Put a need on the list. A worker raises their own; staff record one for a worker
    (from a visit, a walk-in, a survey) or for the community with no worker."""
    region = _validate(data)
    if actor.kind == UserKind.WORKER:
        if worker is not None and worker.pk != actor.pk:
            raise PermissionDenied("not_allowed", _("只能为自己提交需求。"))
        worker = actor
    else:
        access = access_of(actor)
        if not access.is_staff:
            raise PermissionDenied("not_allowed", _("您没有登记需求的权限。"))
        if not covers(access.prefix, region.code):
            raise NotFound("unknown_region", _("没有这个行政区划代码。"))
        if worker is not None and worker.kind != UserKind.WORKER:
            raise ServiceError("not_a_worker", _("只能登记骑手、快递员和司机的需求。"))
    now = _now()
    owner = owner_for_region(region)
    need = Need.objects.create(
        title=data.title, description=data.description,
        category=data.category, source=data.source, region=region,
        owner=owner, urgency=data.urgency, lat=data.lat, lng=data.lng,
        created_by=actor, created_at=now, raised_count=1 if worker else 0,
        target_date=timezone.localdate(now) + timedelta(days=RESPONSE_DAYS),
    )
    _event(need, actor=actor, action="needs.need.raised", to_state=need.status, at=now,
           data={"source": data.source})
    if worker is not None:
        NeedRaiser.objects.create(need=need, worker=worker, source=data.source, raised_at=now)
        NeedFollower.objects.get_or_create(need=need, user=worker)
    if actor.kind == UserKind.WORKER:
        # A need a worker sends in on their own reaches the unit that owns it at once.
        _notify_staff(unit=owner, need=need, dedupe=f"need-{need.pk}-new",
                      title=_message(_("新需求：%(title)s"), title=need.title))
    return need


@transaction.atomic
def need_raise_again(*, worker: User, need_id: int, source: str = NeedSource.ONLINE) -> Need:
    """'Me too': another worker raises an open need; they are counted and follow it.

    A need merged away is followed to the one it now lives in. Raising again twice counts
    once. Needs of the private categories (a person's own wages, health) cannot be joined
    by others: to them they do not exist."""
    if worker.kind != UserKind.WORKER:
        raise PermissionDenied("workers_only", _("只有骑手、快递员和司机可以反映需求。"))
    if source not in NeedSource.values:
        raise ServiceError("invalid_source", _("未知的需求来源。"))
    need = _locked_open_target(_locked(need_id))
    if need.category in PRIVATE_CATEGORIES and not NeedFollower.objects.filter(
            need=need, user=worker).exists():
        raise _not_found()
    if need.status not in OPEN_STATUSES:
        raise ServiceError("need_closed", _("这条需求已经办结。"), status=409)
    now = _now()
    _raiser, created = NeedRaiser.objects.get_or_create(
        need=need, worker=worker, defaults={"source": source, "raised_at": now})
    NeedFollower.objects.get_or_create(need=need, user=worker)
    if created:
        Need.objects.filter(pk=need.pk).update(raised_count=F("raised_count") + 1)
        _event(need, actor=worker, action="needs.need.raised_again", at=now)
        need.refresh_from_db()
    return need


@transaction.atomic
def need_follow(*, user: User, need_id: int) -> None:
    need = Need.objects.filter(pk=need_id).first()
    if need is None:
        raise _not_found()
    NeedFollower.objects.get_or_create(need=need, user=user)


@transaction.atomic
def need_update(*, actor: User, need_id: int, title: str | None = None,
                category: str | None = None, urgency: int | None = None,
                description: str | None = None) -> Need:
    """Staff correct an open need: title, category, urgency, description. Each change is
    written to the history with the old and new value; a changed category moves the
    target date of an accepted need to the new category's."""
    need = _locked(need_id)
    _require_manager(actor, need)
    if need.status not in OPEN_STATUSES:
        raise ServiceError("need_closed", _("这条需求已经办结，不能再修改。"), status=409)
    wanted = {}
    if title is not None:
        wanted["title"] = _check_title(title)
    if category is not None:
        wanted["category"] = _check_category(category)
    if urgency is not None:
        wanted["urgency"] = _check_urgency(urgency)
    if description is not None:
        wanted["description"] = _check_description(description)
    changes = {field: [getattr(need, field), value] for field, value in wanted.items()
               if getattr(need, field) != value}
    if not changes:
        return need
    for field, (_old, new) in changes.items():
        setattr(need, field, new)
    if "category" in changes and need.accepted_at is not None:
        _set_target(need, timezone.localdate(need.accepted_at))
    need.save()
    _event(need, actor=actor, action="needs.need.updated",
           data={"changes": {k: v for k, v in changes.items() if k != "description"},
                 "description_changed": "description" in changes})
    return need


@transaction.atomic
def need_accept(*, actor: User, need_id: int, note: str = "") -> Need:
    need = _locked(need_id)
    _require_manager(actor, need)
    if len(note or "") > NOTE_MAX:
        raise ServiceError("text_too_long", _("说明不能超过 1000 个字。"))
    _transition(need, "accept", actor=actor, note=(note or "").strip())
    return need


@transaction.atomic
def need_decline(*, actor: User, need_id: int, reason: str) -> Need:
    need = _locked(need_id)
    _require_manager(actor, need)
    reason = _check_text(reason, code="reason_required", message=_("不予受理需要写明理由。"))
    need.outcome = reason
    _transition(need, "decline", actor=actor, note=reason)
    return need


@transaction.atomic
def need_resolve(*, actor: User | None, need_id: int, outcome: str) -> Need:
    """Resolve with the outcome in words. `actor=None` is the system (a project closing)."""
    need = _locked(need_id)
    if actor is not None:
        _require_manager(actor, need)
    outcome = _check_text(outcome, code="outcome_required", message=_("请写明解决结果。"))
    need.outcome = outcome
    _transition(need, "resolve", actor=actor, note=outcome)
    return need


@transaction.atomic
def need_mark_not_feasible(*, actor: User | None, need_id: int, reason: str) -> Need:
    need = _locked(need_id)
    if actor is not None:
        _require_manager(actor, need)
    reason = _check_text(reason, code="reason_required", message=_("请写明无法解决的原因。"))
    need.outcome = reason
    _transition(need, "mark_not_feasible", actor=actor, note=reason)
    return need


@transaction.atomic
def need_reopen(*, actor: User, need_id: int, reason: str) -> Need:
    """Take a declined or not-feasible need back as accepted (see TRANSITIONS)."""
    need = _locked(need_id)
    _require_manager(actor, need)
    reason = _check_text(reason, code="reason_required", message=_("请写明重新受理的原因。"))
    _transition(need, "reopen", actor=actor, note=reason)
    return need


@transaction.atomic
def need_attach_to_project(*, actor: User | None, need_id: int, project_ref: str,
                           note: str = "") -> Need:
    """Called by the app that runs projects; the need does not know projects otherwise."""
    need = _locked(need_id)
    if actor is not None:
        _require_manager(actor, need)
    project_ref = str(project_ref or "").strip()
    if not project_ref or len(project_ref) > PROJECT_REF_MAX:
        raise ServiceError("invalid_project_ref", _("项目编号不正确。"))
    need.project_ref = project_ref
    _transition(need, "attach_to_project", actor=actor, note=(note or "").strip()[:NOTE_MAX],
                data={"project_ref": project_ref})
    return need


@transaction.atomic
def need_detach_from_project(*, actor: User | None, need_id: int) -> Need:
    need = _locked(need_id)
    if actor is not None:
        _require_manager(actor, need)
    old_ref = need.project_ref
    need.project_ref = ""
    _transition(need, "detach_from_project", actor=actor, notify=False,
                data={"project_ref": old_ref})
    return need


@transaction.atomic
def need_merge(*, actor: User, target_id: int, source_ids: list[int]) -> Need:
    """Merge duplicates into `target`: their raisers and followers move, counts add up.

    A worker who raised both the target and a duplicate is counted once. Everyone who
    raised or followed a duplicate is told, with a link to the need it now lives in."""
    ids = sorted({target_id, *source_ids})  # lock in one order: two merges cannot deadlock
    if len(ids) < 2:
        raise ServiceError("nothing_to_merge", _("请选择要合并的其他需求。"))
    if len(ids) > MERGE_MAX + 1:
        raise ServiceError("too_many_to_merge", _("一次最多合并 50 条需求。"))
    locked = {n.pk: n for n in Need.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    if len(locked) != len(ids):
        raise _not_found()
    for need in locked.values():
        _require_manager(actor, need)
    target = locked[target_id]
    if target.status not in OPEN_STATUSES:
        raise ServiceError("invalid_transition", _("只能合并到未办结的需求。"), status=409,
                           details={"state": target.status, "action": "merge",
                                    "allowed": NEED_WORKFLOW.allowed(target)})
    sources = [locked[i] for i in ids if i != target_id]
    for source in sources:  # refuse before anything moves
        if source.category != target.category:
            raise ServiceError("category_mismatch", _("只能合并同一类别的需求。"),
                               details={"need_id": source.pk})
        NEED_WORKFLOW.check(source, "merge")
    now = _now()
    for source in sources:
        audience = _audience(source)
        existing = set(NeedRaiser.objects.filter(need=target).values_list("worker_id", flat=True))
        NeedRaiser.objects.filter(need=source).exclude(worker_id__in=existing).update(need=target)
        followers = set(NeedFollower.objects.filter(need=target).values_list("user_id", flat=True))
        NeedFollower.objects.filter(need=source).exclude(user_id__in=followers).update(need=target)
        source.merged_into = target
        event = _transition(source, "merge", actor=actor, notify=False,
                            data={"target": target.pk})
        _event(target, actor=actor, action="needs.need.absorbed", at=now,
               data={"source": source.pk, "source_title": source.title})
        _notify_people(user_ids=audience, action="merge", need=source, note="",
                       link_id=target.pk, dedupe=f"need-event-{event.pk}")
    target.raised_count = NeedRaiser.objects.filter(need=target).count()
    target.save(update_fields=["raised_count", "updated_at"])
    return target


@transaction.atomic
def need_rate(*, worker: User, need_id: int, score: int, comment: str = "") -> NeedFeedback:
    """A raiser's satisfaction with a resolved need: once, 1 to 5, with a comment."""
    need = Need.objects.select_for_update().filter(pk=need_id).first()
    if need is None or not NeedRaiser.objects.filter(need=need, worker=worker).exists():
        raise _not_found()
    if need.status != S.RESOLVED:
        raise ServiceError("not_resolved", _("需求解决后才能评价。"), status=409)
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ServiceError("invalid_score", _("请打 1 到 5 分。"))
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise ServiceError("comment_too_long", _("评价不能超过 500 个字。"))
    if NeedFeedback.objects.filter(need=need, worker=worker).exists():
        raise ServiceError("already_rated", _("您已经评价过了。"), status=409)
    return NeedFeedback.objects.create(need=need, worker=worker, score=score, comment=comment,
                                       at=_now())


@transaction.atomic
def needs_escalate_overdue(*, today: date | None = None) -> int:
    """Open needs past their target date move up one level (community → street → ...).

    A need moves at most one level per overdue period (its category's target days once
    accepted, the response days before): a second run the same day, or any run before the
    period has passed again, does nothing. The staff of the new unit are told once."""
    today = today or timezone.localdate()
    # Lock only the needs ("self"): PostgreSQL refuses FOR UPDATE on the nullable side of
    # the outer join to the region's parent.
    overdue = (Need.objects.select_for_update(of=("self",))
               .filter(status__in=[s.value for s in OPEN_STATUSES], target_date__lt=today)
               .select_related("owner__region__parent")
               .order_by("pk"))
    moved = 0
    for need in overdue:
        last = need.events.filter(action="needs.need.escalated").order_by("-at", "-id").first()
        days = (TARGET_DAYS[NeedCategory(need.category)] if need.accepted_at is not None
                else RESPONSE_DAYS)
        if last and timezone.localdate(last.at) + timedelta(days=days) > today:
            continue
        parent = need.owner.region.parent
        if parent is None:
            continue
        new_owner = owner_for_region(parent)
        old_owner = need.owner
        need.owner = new_owner
        need.escalation_level += 1
        need.save(update_fields=["owner", "escalation_level", "updated_at"])
        _event(need, actor=None, action="needs.need.escalated",
               data={"from_unit": old_owner.name, "to_unit": new_owner.name,
                     "level": need.escalation_level})
        _notify_staff(unit=new_owner, need=need,
                      dedupe=f"need-{need.pk}-escalated-{need.escalation_level}",
                      title=_message(_("逾期需求升级：%(title)s"), title=need.title))
        moved += 1
    return moved

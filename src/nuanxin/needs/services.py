"""Write use cases for the needs list: raise, accept, decline, merge, resolve, rate, escalate.

The state machine is the TRANSITIONS table; every change goes through `_transition`, which
refuses anything the table does not allow, writes a NeedEvent and tells the people who
raised or follow the need.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import ADMIN_ROLES, OrgUnit, StaffRole, User, UserKind
from nuanxin.accounts.selectors import staff_profile_of
from nuanxin.accounts.services import notify_many
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.geo.models import Region
from nuanxin.needs.models import (
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

# action: (allowed from, to, event code)
TRANSITIONS: dict[str, tuple[frozenset[str], str, str]] = {
    "accept": (frozenset({S.SUBMITTED}), S.ACCEPTED, "needs.need.accepted"),
    "decline": (frozenset({S.SUBMITTED}), S.DECLINED, "needs.need.declined"),
    "attach_to_project": (frozenset({S.SUBMITTED, S.ACCEPTED}), S.IN_PROJECT,
                          "needs.need.attached_to_project"),
    "detach_from_project": (frozenset({S.IN_PROJECT}), S.ACCEPTED,
                            "needs.need.detached_from_project"),
    "resolve": (frozenset({S.ACCEPTED, S.IN_PROJECT}), S.RESOLVED, "needs.need.resolved"),
    "mark_not_feasible": (frozenset({S.ACCEPTED, S.IN_PROJECT}), S.NOT_FEASIBLE,
                          "needs.need.not_feasible"),
    "merge": (frozenset({S.SUBMITTED, S.ACCEPTED}), S.MERGED, "needs.need.merged"),
}

# Days from acceptance to the promised answer, by category.
TARGET_DAYS = {
    NeedCategory.CHARGING: 60, NeedCategory.REST_SPACE: 30, NeedCategory.CHILDCARE: 30,
    NeedCategory.SKILLS: 45, NeedCategory.LEGAL: 15, NeedCategory.HEALTH: 15,
    NeedCategory.HOUSING: 60, NeedCategory.TRAFFIC_PARKING: 30,
    NeedCategory.PLATFORM_RULES: 30, NeedCategory.OTHER: 30,
}

# Roles that manage the needs list in their region (station keepers only raise needs).
MANAGER_ROLES = {StaffRole.COMMUNITY_STAFF} | ADMIN_ROLES

STATUS_MESSAGES = {
    S.ACCEPTED: _("您反映的“%(title)s”已受理，目标 %(date)s 前给出答复。"),
    S.DECLINED: _("您反映的“%(title)s”未被受理：%(note)s"),
    S.IN_PROJECT: _("您反映的“%(title)s”已纳入项目推进。"),
    S.RESOLVED: _("您反映的“%(title)s”已解决，请为处理结果打分。"),
    S.NOT_FEASIBLE: _("您反映的“%(title)s”暂时无法解决：%(note)s"),
    S.MERGED: _("您反映的“%(title)s”与相同的需求合并处理，进展会继续通知您。"),
}


def _now() -> datetime:
    return timezone.now()


def need_link(need_id: int) -> str:
    return f"/needs/{need_id}/"


def owner_for_region(region: Region) -> OrgUnit:
    """The organisation unit at the region, or the nearest one above it."""
    codes = []
    node = region
    while node is not None:
        codes.append(node.code)
        node = node.parent
    units = {u.region_id: u for u in OrgUnit.objects.filter(region_id__in=codes)}
    for code in codes:
        if code in units:
            return units[code]
    raise ServiceError("no_owner_unit", _("这个区划还没有负责的党群服务中心。"))


def _require_manager(user: User, need: Need) -> None:
    if user.is_superuser:
        return
    profile = staff_profile_of(user)
    if profile is None or profile.role not in MANAGER_ROLES:
        raise PermissionDenied("not_allowed", _("您没有管理需求清单的权限。"))
    if not need.region_id.startswith(profile.org_unit.region.prefix):
        raise NotFound("need_not_found", _("找不到这条需求。"))


def _locked(need_id: int) -> Need:
    need = Need.objects.select_for_update().filter(pk=need_id).first()
    if need is None:
        raise NotFound("need_not_found", _("找不到这条需求。"))
    return need


def _audience(need: Need) -> list[int]:
    raisers = NeedRaiser.objects.filter(need=need).values_list("worker_id", flat=True)
    followers = NeedFollower.objects.filter(need=need).values_list("user_id", flat=True)
    return list(dict.fromkeys([*raisers, *followers]))


def _notify_change(need: Need, status: str, note: str, event_id: int) -> None:
    template = STATUS_MESSAGES.get(status)
    if template is None:
        return
    title = gettext(str(template)) % {
        "title": need.title, "note": note or "-",
        "date": need.target_date.isoformat() if need.target_date else "-",
    }
    notify_many(user_ids=_audience(need), title=title[:120], body=note,
                link=need_link(need.pk), dedupe_key=f"need-event-{event_id}")


def _transition(need: Need, action: str, *, actor: User | None, note: str = "",
                notify: bool = True) -> NeedEvent:
    allowed_from, to_status, code = TRANSITIONS[action]
    if need.status not in allowed_from:
        raise ServiceError(
            "transition_not_allowed",
            _("这条需求现在是“%(status)s”，不能这样操作。") % {
                "status": NeedStatus(need.status).label},
            status=409,
        )
    from_status = need.status
    need.status = to_status
    now = _now()
    if to_status == S.ACCEPTED and need.accepted_at is None:
        need.accepted_at = now
        need.target_date = (timezone.localdate(now)
                            + timedelta(days=TARGET_DAYS[NeedCategory(need.category)]))
    if to_status == S.RESOLVED:
        need.resolved_at = now
    need.save()
    event = NeedEvent.objects.create(need=need, actor=actor, action=code,
                                     from_status=from_status, to_status=to_status,
                                     note=note, at=now)
    if notify:
        _notify_change(need, to_status, note, event.pk)
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


def _validate(data: NeedInput) -> Region:
    if not data.title.strip():
        raise ServiceError("title_required", _("请用一句话说明需求。"))
    if len(data.title.strip()) > 80:
        raise ServiceError("title_too_long", _("标题不能超过 80 个字。"))
    if len(data.description) > 2000:
        raise ServiceError("description_too_long", _("描述不能超过 2000 个字。"))
    if data.category not in NeedCategory.values:
        raise ServiceError("invalid_category", _("未知的需求类别。"))
    if data.source not in NeedSource.values:
        raise ServiceError("invalid_source", _("未知的需求来源。"))
    if data.urgency not in Urgency.values:
        raise ServiceError("invalid_urgency", _("未知的紧急程度。"))
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
        profile = staff_profile_of(actor)
        if not actor.is_superuser and (
            profile is None or not region.code.startswith(profile.org_unit.region.prefix)
        ):
            raise NotFound("unknown_region", _("没有这个行政区划代码。"))
        if worker is not None and worker.kind != UserKind.WORKER:
            raise ServiceError("not_a_worker", _("只能登记骑手、快递员和司机的需求。"))
    now = _now()
    need = Need.objects.create(
        title=data.title.strip(), description=data.description.strip(),
        category=data.category, source=data.source, region=region,
        owner=owner_for_region(region), urgency=data.urgency, lat=data.lat, lng=data.lng,
        created_by=actor, created_at=now, raised_count=1 if worker else 0,
    )
    NeedEvent.objects.create(need=need, actor=actor, action="needs.need.raised",
                             to_status=need.status, at=now)
    if worker is not None:
        NeedRaiser.objects.create(need=need, worker=worker, source=data.source, raised_at=now)
        NeedFollower.objects.get_or_create(need=need, user=worker)
    return need


@transaction.atomic
def need_raise_again(*, worker: User, need_id: int, source: str = NeedSource.ONLINE) -> Need:
    """'Me too': another worker raises an open need; they are counted and follow it."""
    need = _locked(need_id)
    if need.status == S.MERGED:
        need = _locked(need.merged_into_id)
    if need.status not in (S.SUBMITTED, S.ACCEPTED, S.IN_PROJECT):
        raise ServiceError("need_closed", _("这条需求已经办结。"), status=409)
    if worker.kind != UserKind.WORKER:
        raise PermissionDenied("workers_only", _("只有骑手、快递员和司机可以反映需求。"))
    _raiser, created = NeedRaiser.objects.get_or_create(
        need=need, worker=worker, defaults={"source": source, "raised_at": _now()})
    NeedFollower.objects.get_or_create(need=need, user=worker)
    if created:
        Need.objects.filter(pk=need.pk).update(raised_count=F("raised_count") + 1)
        NeedEvent.objects.create(need=need, actor=worker, action="needs.need.raised_again",
                                 at=_now())
        need.refresh_from_db()
    return need


@transaction.atomic
def need_follow(*, user: User, need_id: int) -> None:
    need = Need.objects.filter(pk=need_id).first()
    if need is None:
        raise NotFound("need_not_found", _("找不到这条需求。"))
    NeedFollower.objects.get_or_create(need=need, user=user)


@transaction.atomic
def need_accept(*, actor: User, need_id: int, note: str = "") -> Need:
    need = _locked(need_id)
    _require_manager(actor, need)
    _transition(need, "accept", actor=actor, note=note)
    return need


@transaction.atomic
def need_decline(*, actor: User, need_id: int, reason: str) -> Need:
    need = _locked(need_id)
    _require_manager(actor, need)
    if not reason.strip():
        raise ServiceError("reason_required", _("不予受理需要写明理由。"))
    need.outcome = reason.strip()
    _transition(need, "decline", actor=actor, note=reason.strip())
    return need


@transaction.atomic
def need_resolve(*, actor: User | None, need_id: int, outcome: str) -> Need:
    """Resolve with the outcome in words. `actor=None` is the system (a project closing)."""
    need = _locked(need_id)
    if actor is not None:
        _require_manager(actor, need)
    if not outcome.strip():
        raise ServiceError("outcome_required", _("请写明解决结果。"))
    need.outcome = outcome.strip()
    _transition(need, "resolve", actor=actor, note=outcome.strip())
    return need


@transaction.atomic
def need_mark_not_feasible(*, actor: User | None, need_id: int, reason: str) -> Need:
    need = _locked(need_id)
    if actor is not None:
        _require_manager(actor, need)
    if not reason.strip():
        raise ServiceError("reason_required", _("请写明无法解决的原因。"))
    need.outcome = reason.strip()
    _transition(need, "mark_not_feasible", actor=actor, note=reason.strip())
    return need


@transaction.atomic
def need_attach_to_project(*, actor: User | None, need_id: int, project_ref: str,
                           note: str = "") -> Need:
    """Called by the app that runs projects; the need does not know projects otherwise."""
    need = _locked(need_id)
    if actor is not None:
        _require_manager(actor, need)
    need.project_ref = project_ref
    _transition(need, "attach_to_project", actor=actor, note=note)
    return need


@transaction.atomic
def need_detach_from_project(*, actor: User | None, need_id: int) -> Need:
    need = _locked(need_id)
    if actor is not None:
        _require_manager(actor, need)
    need.project_ref = ""
    _transition(need, "detach_from_project", actor=actor, notify=False)
    return need


@transaction.atomic
def need_merge(*, actor: User, target_id: int, source_ids: list[int]) -> Need:
    """Merge duplicates into `target`: their raisers and followers move, counts add up."""
    ids = sorted({target_id, *source_ids})  # lock in one order: two merges cannot deadlock
    if len(ids) < 2:
        raise ServiceError("nothing_to_merge", _("请选择要合并的其他需求。"))
    locked = {n.pk: n for n in Need.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    if len(locked) != len(ids):
        raise NotFound("need_not_found", _("找不到这条需求。"))
    target = locked[target_id]
    for need in locked.values():
        _require_manager(actor, need)
    if target.status not in (S.SUBMITTED, S.ACCEPTED, S.IN_PROJECT):
        raise ServiceError("transition_not_allowed", _("只能合并到未办结的需求。"), status=409)
    for source_id in ids:
        if source_id == target_id:
            continue
        source = locked[source_id]
        if source.category != target.category:
            raise ServiceError("category_mismatch", _("只能合并同一类别的需求。"))
        existing = set(NeedRaiser.objects.filter(need=target).values_list("worker_id", flat=True))
        NeedRaiser.objects.filter(need=source).exclude(worker_id__in=existing).update(need=target)
        followers = set(NeedFollower.objects.filter(need=target).values_list("user_id", flat=True))
        NeedFollower.objects.filter(need=source).exclude(user_id__in=followers).update(need=target)
        source.merged_into = target
        _transition(source, "merge", actor=actor,
                    note=gettext("合并到需求 #%(id)d") % {"id": target.pk}, notify=False)
        NeedEvent.objects.create(need=target, actor=actor, action="needs.need.absorbed",
                                 note=gettext("合并了需求 #%(id)d") % {"id": source.pk},
                                 at=_now())
    target.raised_count = NeedRaiser.objects.filter(need=target).count()
    target.save(update_fields=["raised_count", "updated_at"])
    event = target.events.order_by("-id").first()
    _notify_change(target, S.MERGED, "", event.pk)
    return target


@transaction.atomic
def need_rate(*, worker: User, need_id: int, score: int, comment: str = "") -> NeedFeedback:
    need = Need.objects.filter(pk=need_id).first()
    if need is None or not NeedRaiser.objects.filter(need=need, worker=worker).exists():
        raise NotFound("need_not_found", _("找不到这条需求。"))
    if need.status != S.RESOLVED:
        raise ServiceError("not_resolved", _("需求解决后才能评价。"), status=409)
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise ServiceError("invalid_score", _("请打 1 到 5 分。"))
    feedback, created = NeedFeedback.objects.get_or_create(
        need=need, worker=worker,
        defaults={"score": score, "comment": comment.strip()[:1000], "at": _now()},
    )
    if not created:
        raise ServiceError("already_rated", _("您已经评价过了。"), status=409)
    return feedback


@transaction.atomic
def needs_escalate_overdue(*, today: date | None = None) -> int:
    """Open needs past their target date move up one level (community → street → ...)."""
    today = today or timezone.localdate()
    overdue = (Need.objects.select_for_update()
               .filter(status__in=[S.ACCEPTED, S.IN_PROJECT], target_date__lt=today)
               .select_related("owner__region__parent"))
    moved = 0
    for need in overdue:
        # One step per overdue period: wait another full target period before the next.
        last = need.events.filter(action="needs.need.escalated").order_by("-at").first()
        period = timedelta(days=TARGET_DAYS[NeedCategory(need.category)])
        if last and timezone.localdate(last.at) + period > today:
            continue
        parent = need.owner.region.parent
        if parent is None:
            continue
        new_owner = owner_for_region(parent)
        need.owner = new_owner
        need.escalation_level += 1
        need.save(update_fields=["owner", "escalation_level", "updated_at"])
        NeedEvent.objects.create(
            need=need, action="needs.need.escalated", at=_now(),
            note=gettext("逾期未办结，升级到%(unit)s") % {"unit": new_owner.name},
        )
        staff_ids = list(new_owner.staff.values_list("user_id", flat=True))
        notify_many(user_ids=staff_ids,
                    title=gettext("逾期需求升级：%(title)s") % {"title": need.title}[:100],
                    link=f"/console/needs/{need.pk}/",
                    dedupe_key=f"need-{need.pk}-escalated-{need.escalation_level}")
        moved += 1
    return moved

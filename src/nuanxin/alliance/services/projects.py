"""The project list (项目清单): a project answers needs with partners' resources.

States: planned → active → closed, and planned|active → cancelled; PROJECT_WORKFLOW
(common.workflow) is the only place that says so, and every move writes a ProjectEvent.

Needs are changed only through needs.services:
- adding a need attaches it (`need_attach_to_project`, project_ref "alliance.project:<id>");
- removing it from an open project detaches it (back to "accepted");
- closing the project resolves each of its needs still in this project
  (`need_resolve(actor=None, ...)`: the system resolves, the needs app tells the raisers);
- cancelling detaches them by default — the need is still real and goes back to the list to
  be answered another way, with its target date and escalation running on. Staff who know
  that nothing else can be done choose "not feasible" instead, with the reason, and the
  raisers are told (see docs/decisions/0005).

Lock order, everywhere: the project row first, then a resource row (RESOURCE_SEATS). Row
locks name their own table only (`of=("self",)`): a scope filter joins the owner unit and
its region, and locking those too would queue every project of a unit behind one another
and block anyone raising a need in that region.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import OrgUnit, User
from nuanxin.accounts.selectors import staff_profile_of
from nuanxin.alliance.models import (
    Milestone,
    Project,
    ProjectEvent,
    ProjectNeed,
    ProjectResource,
    ProjectStatus,
    project_ref,
)
from nuanxin.alliance.selectors import (
    available_on,
    resources_visible_to,
)
from nuanxin.alliance.services.common import clean_text, now, require_manager
from nuanxin.alliance.services.resources import RESOURCE_SEATS
from nuanxin.common.errors import NotFound, ServiceError, lazy_format
from nuanxin.common.scoping import covers, region_q
from nuanxin.common.workflow import Change, Workflow, move
from nuanxin.needs import services as need_services
from nuanxin.needs.choices import NeedStatus
from nuanxin.needs.selectors import need_for, needs_visible_to

P = ProjectStatus

TRANSITIONS = {
    "start": move({P.PLANNED}, P.ACTIVE, "alliance.project.started"),
    "close": move({P.ACTIVE}, P.CLOSED, "alliance.project.closed"),
    "cancel": move({P.PLANNED, P.ACTIVE}, P.CANCELLED, "alliance.project.cancelled"),
}


def _on_change(project: Project, change: Change) -> None:
    if change.to_state == P.ACTIVE:
        project.started_at = change.at
    if change.to_state in (P.CLOSED, P.CANCELLED):
        project.closed_at = change.at


PROJECT_WORKFLOW = Workflow(
    "alliance.project", states=ProjectStatus, transitions=TRANSITIONS, history=ProjectEvent,
    refusal=_("项目现在是“%(state)s”，不能这样操作。"), on_change=_on_change,
    labels={
        "alliance.project.created": _("新建项目"),
        "alliance.project.updated": _("修改项目"),
        "alliance.project.started": _("项目启动"),
        "alliance.project.closed": _("项目完成"),
        "alliance.project.cancelled": _("项目取消"),
        "alliance.project.need_added": _("纳入需求"),
        "alliance.project.need_removed": _("移出需求"),
        "alliance.project.needs_resolved": _("需求办结"),
        "alliance.project.resource_added": _("加入资源"),
        "alliance.project.resource_changed": _("调整资源数量"),
        "alliance.project.resource_removed": _("移除资源"),
        "alliance.project.milestone_added": _("添加节点"),
        "alliance.project.milestone_done": _("节点完成"),
        "alliance.project.milestone_reopened": _("节点改为未完成"),
    },
)
CANCEL_NEEDS = ("detach", "not_feasible")
MAX_COST_FEN = 10**12  # ten billion yuan: anything above is a typing error


@dataclass
class ProjectInput:
    title: str
    description: str = ""
    owner_region_code: str = ""  # the owner unit's region; empty = the actor's own unit
    progress: int = 0
    cost_fen: int = 0


def _locked_project(actor: User, project_id: int) -> Project:
    prefix = require_manager(actor)
    project = (Project.objects.select_for_update(of=("self",))
               .in_region(prefix).filter(pk=project_id).first())
    if project is None:
        raise NotFound("project_not_found", _("找不到这个项目。"))
    return project


def _require_open(project: Project) -> None:
    if not project.is_open:
        raise ServiceError(
            "project_not_open",
            lazy_format(_("项目已“%(status)s”，不能再修改。"),
                        status=ProjectStatus(project.status).label),
            status=409,
        )


def _event(project: Project, actor: User | None, action: str, reason: str = "", *,
           to_state: str = "") -> ProjectEvent:
    return PROJECT_WORKFLOW.record(project, action, actor=actor, reason=reason,
                                   to_state=to_state, at=now())


def _transition(project: Project, action: str, *, actor: User, note: str = "") -> ProjectEvent:
    return PROJECT_WORKFLOW.apply(project, action, actor=actor, reason=note, at=now())


def _validate_numbers(progress, cost_fen) -> None:
    if not isinstance(progress, int) or isinstance(progress, bool) or not 0 <= progress <= 100:
        raise ServiceError("invalid_progress", _("进度必须是 0 到 100 之间的整数。"))
    if not isinstance(cost_fen, int) or isinstance(cost_fen, bool) \
            or not 0 <= cost_fen <= MAX_COST_FEN:
        raise ServiceError("invalid_cost", _("投入金额不正确。"))


def _owner(actor: User, prefix: str, code: str) -> OrgUnit:
    code = (code or "").strip()
    if not code:
        profile = staff_profile_of(actor)
        if profile is None:
            raise ServiceError("owner_required", _("请填写责任单位的区划代码。"))
        return profile.org_unit
    unit = (OrgUnit.objects.filter(region_q("region", prefix), region_id=code)
            .select_related("region").order_by("id").first())
    if unit is None:
        raise NotFound("owner_not_found", _("这个区划没有党群服务中心，或不在您的辖区内。"))
    return unit


@transaction.atomic
def project_create(*, actor: User, data: ProjectInput, need_ids: tuple[int, ...] = (),
                   resources: tuple[tuple[int, int], ...] = ()) -> Project:
    """A new project with its needs and, as (resource id, quantity), the alliance
    resources it takes: all of it, or nothing if any part is refused."""
    prefix = require_manager(actor)
    title = clean_text(data.title, limit=80, code="title_too_long", label=_("项目名称"))
    if not title:
        raise ServiceError("title_required", _("请填写项目名称。"))
    description = clean_text(data.description, limit=4000, code="description_too_long",
                             label=_("项目说明"))
    _validate_numbers(data.progress, data.cost_fen)
    owner = _owner(actor, prefix, data.owner_region_code)
    project = Project.objects.create(title=title, description=description, owner=owner,
                                     progress=data.progress, cost_fen=data.cost_fen,
                                     created_by=actor, created_at=now())
    _event(project, actor, "alliance.project.created", to_state=project.status)
    for need_id in need_ids:
        _add_need(actor, project, need_id)
    for resource_id, quantity in resources:
        project_allocate(actor=actor, project_id=project.pk, resource_id=resource_id,
                         quantity=quantity)
    return project


@transaction.atomic
def project_update(*, actor: User, project_id: int, title: str, description: str,
                   progress: int, cost_fen: int) -> Project:
    project = _locked_project(actor, project_id)
    _require_open(project)
    title = clean_text(title, limit=80, code="title_too_long", label=_("项目名称"))
    if not title:
        raise ServiceError("title_required", _("请填写项目名称。"))
    description = clean_text(description, limit=4000, code="description_too_long",
                             label=_("项目说明"))
    _validate_numbers(progress, cost_fen)
    changes = []
    if project.progress != progress:
        changes.append(f"{project.progress}% → {progress}%")
    if project.cost_fen != cost_fen:
        changes.append(f"¥{project.cost_fen / 100:.2f} → ¥{cost_fen / 100:.2f}")
    project.title, project.description = title, description
    project.progress, project.cost_fen = progress, cost_fen
    project.save()
    _event(project, actor, "alliance.project.updated", "; ".join(changes))
    return project


def _add_need(actor: User, project: Project, need_id: int) -> ProjectNeed:
    need = need_for(actor, need_id)
    if not covers(project.owner.region.prefix, need.region_id):
        raise ServiceError("need_outside_owner",
                           _("这条需求不在项目责任单位的辖区内。"))
    if ProjectNeed.objects.filter(project=project, need_id=need.pk).exists():
        raise ServiceError("need_already_in_project", _("这条需求已经在项目里了。"),
                           status=409)
    need_services.need_attach_to_project(
        actor=actor, need_id=need.pk, project_ref=project_ref(project.pk),
        note=gettext("纳入项目“%(title)s”") % {"title": project.title})
    link = ProjectNeed.objects.create(project=project, need_id=need.pk, added_by=actor,
                                      added_at=now())
    _event(project, actor, "alliance.project.need_added",
           gettext("需求 #%(id)d %(title)s") % {"id": need.pk, "title": need.title})
    return link


@transaction.atomic
def project_add_need(*, actor: User, project_id: int, need_id: int) -> ProjectNeed:
    project = _locked_project(actor, project_id)
    _require_open(project)
    return _add_need(actor, project, need_id)


def _need_state(actor: User, need_id: int) -> tuple[str, str] | None:
    """(status, project_ref) of a need the actor can see, or None."""
    row = needs_visible_to(actor).filter(pk=need_id).values_list("status", "project_ref").first()
    return tuple(row) if row else None


@transaction.atomic
def project_remove_need(*, actor: User, project_id: int, need_id: int) -> None:
    project = _locked_project(actor, project_id)
    _require_open(project)
    link = ProjectNeed.objects.filter(project=project, need_id=need_id).first()
    if link is None:
        raise NotFound("need_not_in_project", _("这条需求不在这个项目里。"))
    state = _need_state(actor, need_id)
    if state == (NeedStatus.IN_PROJECT, project.ref):
        need_services.need_detach_from_project(actor=actor, need_id=need_id)
    link.delete()
    _event(project, actor, "alliance.project.need_removed",
           gettext("需求 #%(id)d") % {"id": need_id})


@transaction.atomic
def project_allocate(*, actor: User, project_id: int, resource_id: int,
                     quantity: int) -> ProjectResource:
    """Take `quantity` of a resource for the project (or change what it holds)."""
    project = _locked_project(actor, project_id)
    _require_open(project)
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise ServiceError("invalid_quantity", _("数量必须是正整数。"))
    visible = available_on(resources_visible_to(actor), timezone.localdate())
    if not visible.filter(pk=resource_id).exists():
        raise NotFound("resource_not_found", _("找不到这项资源，或它今天不提供。"))
    # The project row is locked: nobody else changes its allocations meanwhile.
    created = not project.allocations.filter(resource_id=resource_id).exists()
    allocation = RESOURCE_SEATS.take(resource_id, key=str(project.pk), quantity=quantity,
                                     defaults={"project": project})
    resource = allocation.resource
    _event(project, actor,
           "alliance.project.resource_added" if created else "alliance.project.resource_changed",
           f"{resource.partner.name}: {resource.title} × {quantity} {resource.capacity_unit}")
    return allocation


@transaction.atomic
def project_release(*, actor: User, project_id: int, resource_id: int) -> None:
    project = _locked_project(actor, project_id)
    _require_open(project)
    allocation = (ProjectResource.objects.filter(project=project, resource_id=resource_id)
                  .select_related("resource").first())
    if allocation is None:
        raise NotFound("allocation_not_found", _("项目没有使用这项资源。"))
    RESOURCE_SEATS.release(resource_id, key=str(project.pk))
    _event(project, actor, "alliance.project.resource_removed", allocation.resource.title)


@transaction.atomic
def milestone_add(*, actor: User, project_id: int, title: str,
                  due_on: date | None = None) -> Milestone:
    project = _locked_project(actor, project_id)
    _require_open(project)
    title = clean_text(title, limit=80, code="title_too_long", label=_("节点"))
    if not title:
        raise ServiceError("title_required", _("请填写节点名称。"))
    milestone = Milestone.objects.create(project=project, title=title, due_on=due_on)
    _event(project, actor, "alliance.project.milestone_added", title)
    return milestone


@transaction.atomic
def milestone_set_done(*, actor: User, project_id: int, milestone_id: int,
                       done: bool = True) -> Milestone:
    project = _locked_project(actor, project_id)
    _require_open(project)
    milestone = Milestone.objects.filter(pk=milestone_id, project=project).first()
    if milestone is None:
        raise NotFound("milestone_not_found", _("找不到这个节点。"))
    milestone.done_at = now() if done else None
    milestone.save(update_fields=["done_at"])
    _event(project, actor, "alliance.project.milestone_done" if done
           else "alliance.project.milestone_reopened", milestone.title)
    return milestone


@transaction.atomic
def project_start(*, actor: User, project_id: int, note: str = "") -> Project:
    project = _locked_project(actor, project_id)
    _transition(project, "start", actor=actor, note=note.strip())
    return project


@transaction.atomic
def project_close(*, actor: User, project_id: int, results: str,
                  outcome: str = "") -> Project:
    """Close with results; every need still in this project is resolved with `outcome`
    (the results by default), and the needs app notifies the workers who raised them."""
    project = _locked_project(actor, project_id)
    results = clean_text(results, limit=4000, code="results_too_long", label=_("成效"))
    if not results:
        raise ServiceError("results_required", _("关闭项目前请写明成效。"))
    outcome = clean_text(outcome, limit=2000, code="outcome_too_long",
                         label=_("给反映人的答复")) or results
    project.results = results
    project.progress = 100
    _transition(project, "close", actor=actor, note=results)
    resolved, skipped = 0, []
    for need_id in project.needs.order_by("need_id").values_list("need_id", flat=True):
        if _need_state(actor, need_id) != (NeedStatus.IN_PROJECT, project.ref):
            skipped.append(need_id)
            continue
        need_services.need_resolve(actor=None, need_id=need_id, outcome=outcome)
        resolved += 1
    note = gettext("解决需求 %(n)d 条") % {"n": resolved}
    if skipped:
        note += gettext("；已不在本项目、未改动：%(ids)s") % {
            "ids": ", ".join(f"#{i}" for i in skipped)}
    _event(project, actor, "alliance.project.needs_resolved", note)
    return project


@transaction.atomic
def project_cancel(*, actor: User, project_id: int, reason: str,
                   needs: str = "detach") -> Project:
    """Cancel with a reason. Its needs go back to the list (`needs="detach"`, the default)
    or are marked not feasible with the reason (`needs="not_feasible"`)."""
    project = _locked_project(actor, project_id)
    if needs not in CANCEL_NEEDS:
        raise ServiceError("invalid_needs_choice", _("请选择需求的去向。"))
    reason = clean_text(reason, limit=2000, code="reason_too_long", label=_("取消原因"))
    if not reason:
        raise ServiceError("reason_required", _("取消项目需要写明原因。"))
    project.cancel_reason = reason
    _transition(project, "cancel", actor=actor, note=reason)
    for need_id in project.needs.order_by("need_id").values_list("need_id", flat=True):
        if _need_state(actor, need_id) != (NeedStatus.IN_PROJECT, project.ref):
            continue
        if needs == "detach":
            need_services.need_detach_from_project(actor=actor, need_id=need_id)
        else:
            need_services.need_mark_not_feasible(actor=actor, need_id=need_id, reason=reason)
    return project

"""JSON API of the alliance (/api/v1/alliance): resources, match suggestions for a need,
projects, and the needs routed to a partner with their answers. Thin: parse, check who is
asking, call a selector or service, shape the output. Errors are the API's JSON shape."""

from __future__ import annotations

from typing import Literal

from django.utils.translation import gettext_lazy as _
from ninja import Path, Query, Router, Schema, Status
from ninja.security import django_auth
from pydantic import Field

from nuanxin.accounts.decorators import second_factor_pending
from nuanxin.alliance import selectors
from nuanxin.alliance.models import ProjectStatus, RoutingStatus
from nuanxin.alliance.services import routings as routing_services
from nuanxin.common.errors import PermissionDenied, ServiceError
from nuanxin.common.pagination import paginate
from nuanxin.common.scoping import access_of
from nuanxin.needs.choices import NeedCategory

router = Router(tags=["alliance"], auth=django_auth)

Id = Path(..., ge=1, le=2**63 - 1)


def _viewer(request, *, staff_only: bool = False):
    """Staff (second factor done, for administrators) or, unless `staff_only`, a partner
    user. Everyone else is refused."""
    user = request.user
    if second_factor_pending(request):
        raise PermissionDenied("totp_required", _("请先完成动态口令验证。"))
    if access_of(user).prefix is not None:
        return user
    if not staff_only and selectors.member_partner(user) is not None:
        return user
    raise PermissionDenied("not_allowed", _("只有工作人员和联盟单位可以查看。"))


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)


class ResourceQuery(PageQuery):
    category: str = Field("", max_length=20)
    q: str = Field("", max_length=80, description="search in the title and partner name")
    available: bool = Field(False, description="only what is offered today")


def _resource_out(r) -> dict:
    return {
        "id": r.pk, "title": r.title, "category": r.category,
        "category_label": str(NeedCategory(r.category).label),
        "partner": {"id": r.partner_id, "name": r.partner.name},
        "region": {"code": r.region_id, "name": r.region.name},
        "address": r.address, "lat": r.lat, "lng": r.lng,
        "capacity": r.capacity, "capacity_unit": r.capacity_unit,
        "allocated": r.allocated, "remaining": r.remaining, "conditions": r.conditions,
        "available_from": r.available_from.isoformat(),
        "available_until": r.available_until.isoformat() if r.available_until else None,
        "is_active": r.is_active,
    }


@router.get("/resources", summary="The resource list (资源清单) the viewer may see, paginated")
def resource_list(request, q: Query[ResourceQuery]):
    user = _viewer(request)
    if q.category and q.category not in NeedCategory.values:
        raise ServiceError("invalid_category", _("未知的类别。"))
    page = paginate(selectors.resource_rows(user, category=q.category, search=q.q.strip(),
                                            active_only=q.available),
                    page=q.page, page_size=q.page_size)
    page["results"] = [_resource_out(r) for r in page["results"]]
    return page


@router.get("/needs/{need_id}/matches",
            summary="Resources suggested for a need, best first, with the reasons")
def need_matches(request, need_id: int = Id):
    user = _viewer(request, staff_only=True)
    suggestions = selectors.resources_for_need(need_id, user)
    return {"need_id": need_id, "results": [
        {"resource": _resource_out(s.resource), "rank": s.rank, "distance_m": s.distance_m,
         "distance_approximate": s.approximate_distance, "remaining": s.remaining,
         "reasons": s.reasons}
        for s in suggestions]}


class ProjectQuery(PageQuery):
    status: str = Field("", max_length=12)


def _project_out(p, partners: list[str]) -> dict:
    return {
        "id": p.pk, "title": p.title, "status": p.status,
        "status_label": str(ProjectStatus(p.status).label),
        "owner": {"id": p.owner_id, "name": p.owner.name, "region": p.owner.region_id},
        "progress": p.progress, "cost_fen": p.cost_fen, "results": p.results,
        "partners": partners, "created_at": p.created_at.isoformat(),
        "started_at": p.started_at.isoformat() if p.started_at else None,
        "closed_at": p.closed_at.isoformat() if p.closed_at else None,
    }


@router.get("/projects", summary="The project list (项目清单) the viewer may see, paginated")
def project_list(request, q: Query[ProjectQuery]):
    user = _viewer(request)
    if q.status and q.status not in ProjectStatus.values:
        raise ServiceError("invalid_status", _("未知的项目状态。"))
    page = paginate(selectors.project_rows(user, status=q.status), page=q.page,
                    page_size=q.page_size)
    names = selectors.project_partner_names([p.pk for p in page["results"]])
    page["results"] = [_project_out(p, names[p.pk]) for p in page["results"]]
    return page


@router.get("/projects/{project_id}", summary="One project: needs, resources, milestones")
def project_detail(request, project_id: int = Id):
    user = _viewer(request)
    project = selectors.project_for(user, project_id)
    out = _project_out(project, selectors.project_partner_names([project.pk])[project.pk])
    out["description"] = project.description
    if access_of(user).prefix is not None:  # partners do not see the needs list
        out["needs"] = [
            {"id": row["id"], "visible": row["visible"],
             "title": row["need"].title if row["need"] else None,
             "status": row["need"].status if row["need"] else None}
            for row in selectors.project_needs(project, user)]
    out["resources"] = [
        {"id": a.resource_id, "title": a.resource.title, "partner": a.resource.partner.name,
         "quantity": a.quantity, "unit": a.resource.capacity_unit}
        for a in selectors.project_allocations(project)]
    out["milestones"] = [
        {"id": m.pk, "title": m.title, "due_on": m.due_on.isoformat() if m.due_on else None,
         "done_at": m.done_at.isoformat() if m.done_at else None}
        for m in project.milestones.all()]
    return out


class RoutingQuery(PageQuery):
    status: str = Field("", max_length=12)


def _routing_out(r) -> dict:
    """What a partner may know of a routed need: no raiser, no need history."""
    return {
        "id": r.pk, "need_id": r.need_id, "title": r.title, "category": r.category,
        "category_label": str(NeedCategory(r.category).label), "description": r.description,
        "region": {"code": r.region_id, "name": r.region.name},
        "partner": {"id": r.partner_id, "name": r.partner.name},
        "resource_id": r.resource_id, "message": r.message, "status": r.status,
        "proposal": r.proposal, "decline_reason": r.decline_reason,
        "routed_at": r.routed_at.isoformat(),
        "answered_at": r.answered_at.isoformat() if r.answered_at else None,
    }


@router.get("/routings", summary="Needs routed to partners: a partner's own, or staff's region")
def routing_list(request, q: Query[RoutingQuery]):
    user = _viewer(request)
    if q.status and q.status not in RoutingStatus.values:
        raise ServiceError("invalid_status", _("未知的派单状态。"))
    qs = selectors.routings_visible_to(user).select_related("partner", "region")
    if q.status:
        qs = qs.filter(status=q.status)
    page = paginate(qs, page=q.page, page_size=q.page_size)
    page["results"] = [_routing_out(r) for r in page["results"]]
    return page


class RouteIn(Schema):
    need_id: int = Field(..., ge=1, le=2**63 - 1)
    partner_id: int = Field(..., ge=1, le=2**63 - 1)
    resource_id: int | None = Field(None, ge=1, le=2**63 - 1)
    description: str | None = Field(None, max_length=2000,
                                    description="what the partner reads; the need's by default")
    message: str = Field("", max_length=1000)


@router.post("/routings", response={201: dict}, summary="Route a need to a partner (staff)")
def routing_create(request, body: RouteIn):
    user = _viewer(request, staff_only=True)
    routing = routing_services.routing_create(
        actor=user, need_id=body.need_id, partner_id=body.partner_id,
        resource_id=body.resource_id, description=body.description, message=body.message)
    return Status(201, _routing_out(selectors.routing_for(user, routing.pk)))


class RoutingAnswerIn(Schema):
    action: Literal["accept", "propose", "decline"]
    text: str = Field("", max_length=2000, description="the proposal, or why declined")


@router.post("/routings/{routing_id}/answer", summary="A partner answers a routed need")
def routing_answer(request, body: RoutingAnswerIn, routing_id: int = Id):
    user = _viewer(request)
    routing_services.routing_answer(actor=user, routing_id=routing_id, action=body.action,
                                    text=body.text)
    return _routing_out(selectors.routing_for(user, routing_id))

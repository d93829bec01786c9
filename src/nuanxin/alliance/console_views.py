"""Staff console of the 暖新联盟: partners, agreements, resources, matching a need,
routing it to a partner, and projects. Thin: parse a form, call a service or selector, render.

Everything is scoped to the staff member's region; anything outside it answers 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nuanxin.accounts.models import PartnerKind
from nuanxin.alliance import selectors
from nuanxin.alliance.forms import (
    AddNeedForm,
    AgreementForm,
    AllocateForm,
    CancelForm,
    CloseForm,
    MemberForm,
    MilestoneForm,
    PartnerForm,
    ProjectEditForm,
    ProjectForm,
    ResourceForm,
    RouteForm,
)
from nuanxin.alliance.models import ProjectStatus, RoutingStatus
from nuanxin.alliance.services import partners as partner_services
from nuanxin.alliance.services import projects as project_services
from nuanxin.alliance.services import resources as resource_services
from nuanxin.alliance.services import routings as routing_services
from nuanxin.alliance.services.projects import ProjectInput
from nuanxin.common.errors import NotFound, ServiceError
from nuanxin.common.forms import OUT_OF_REACH, form_page, refusal_on_form, run_action
from nuanxin.common.scoping import console_view, region_q
from nuanxin.needs.choices import NeedCategory, NeedStatus
from nuanxin.needs.selectors import need_for, needs_visible_to

PAGE_SIZE = 50


def _page(request, qs):
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _partner_url(partner_id: int) -> str:
    return reverse("alliance_console:partner_detail", args=[partner_id])


def _resource_url(resource_id: int) -> str:
    return reverse("alliance_console:resource_detail", args=[resource_id])


def _project_url(project_id: int) -> str:
    return reverse("alliance_console:project_detail", args=[project_id])


def _int_param(request, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() and len(value) < 18 else None


# --- partners -------------------------------------------------------------------------------

@require_GET
@console_view
def partner_list(request):
    query = request.GET.get("q", "").strip()[:80]
    kind = request.GET.get("kind", "")
    kind = kind if kind in PartnerKind.values else ""
    page = _page(request, selectors.partner_rows(request.user, search=query, kind=kind))
    return render(request, "alliance/console/partner_list.html", {
        "page": page, "query": query, "kind": kind,
        "kinds": PartnerKind.choices,
        "can_manage": selectors.is_manager(request.user),
    })


@require_http_methods(["GET", "POST"])
@console_view
def partner_create(request):
    form = PartnerForm(request.POST or None)
    return form_page(
        request, form,
        save=lambda _: partner_services.partner_create(actor=request.user, data=form.to_input()),
        done=lambda partner: (gettext("已加入暖新联盟：%(name)s") % {"name": partner.name},
                              _partner_url(partner.pk)),
        title=gettext("新的联盟单位"), back=reverse("alliance_console:partners"))


@require_GET
@console_view
def partner_detail(request, partner_id: int):
    partner = selectors.partner_for(request.user, partner_id)
    today = timezone.localdate()
    agreements = (selectors.agreements_visible_to(request.user).filter(partner=partner)
                  .select_related("org_unit"))
    resources = selectors.resource_rows(request.user, partner_id=partner.pk)
    return render(request, "alliance/console/partner_detail.html", {
        "partner": partner, "today": today,
        "agreements": [{"a": a, "active": a.is_active_on(today)} for a in agreements],
        "resources": resources,
        "members": partner.members.select_related("user").order_by("user__username"),
        "can_edit": selectors.can_edit_partner(request.user, partner),
        "can_manage": selectors.can_manage_partner(request.user, partner),
        "is_manager": selectors.is_manager(request.user),
        "routings": selectors.routings_visible_to(request.user).filter(partner=partner)[:20],
    })


@require_http_methods(["GET", "POST"])
@console_view
def partner_edit(request, partner_id: int):
    partner = selectors.partner_for(request.user, partner_id)
    form = PartnerForm(request.POST or None, initial={
        "name": partner.name, "kind": partner.kind, "region_code": partner.region_id})
    return form_page(
        request, form,
        save=lambda _: partner_services.partner_update(
            actor=request.user, partner_id=partner.pk, data=form.to_input()),
        done=lambda _: (gettext("已保存。"), _partner_url(partner.pk)),
        title=partner.name, back=_partner_url(partner.pk))


@require_http_methods(["GET", "POST"])
@console_view
def agreement_create(request, partner_id: int):
    partner = selectors.partner_for(request.user, partner_id)
    form = AgreementForm(request.POST or None, initial={
        "title": gettext("%(name)s 共建协议") % {"name": partner.name}})
    return form_page(
        request, form,
        save=lambda d: partner_services.agreement_create(
            actor=request.user, partner_id=partner.pk, title=d["title"],
            starts_on=d["starts_on"], ends_on=d["ends_on"]),
        done=lambda _: (gettext("已登记共建协议。"), _partner_url(partner.pk)),
        title=gettext("登记共建协议：%(name)s") % {"name": partner.name},
        back=_partner_url(partner.pk))


@require_POST
@console_view
def agreement_end(request, agreement_id: int):
    try:
        agreement = partner_services.agreement_end(actor=request.user,
                                                   agreement_id=agreement_id)
    except OUT_OF_REACH:
        raise
    except ServiceError as error:
        messages.error(request, str(error.message))
        partner_id = (selectors.agreements_visible_to(request.user)
                      .filter(pk=agreement_id).values_list("partner_id", flat=True).first())
        return redirect("alliance_console:partner_detail", partner_id)
    messages.success(request, gettext("协议已提前结束。"))
    return redirect("alliance_console:partner_detail", agreement.partner_id)


@require_http_methods(["GET", "POST"])
@console_view
def member_create(request, partner_id: int):
    partner = selectors.partner_for(request.user, partner_id)
    form = MemberForm(request.POST or None)
    return form_page(
        request, form,
        save=lambda d: partner_services.partner_member_create(
            actor=request.user, partner_id=partner.pk, username=d["username"],
            password=d["password"], display_name=d["display_name"]),
        done=lambda user: (gettext("已开设账号 %(u)s，对方可从 /partner/login/ 登录。")
                           % {"u": user.username}, _partner_url(partner.pk)),
        title=gettext("为 %(name)s 开设登录账号") % {"name": partner.name},
        back=_partner_url(partner.pk))


# --- resources ------------------------------------------------------------------------------

@require_GET
@console_view
def resource_list(request):
    query = request.GET.get("q", "").strip()[:80]
    category = request.GET.get("category", "")
    category = category if category in NeedCategory.values else ""
    active_only = request.GET.get("available") == "1"
    qs = selectors.resource_rows(request.user, category=category, search=query,
                                 active_only=active_only)
    return render(request, "alliance/console/resource_list.html", {
        "page": _page(request, qs), "query": query,
        "category": category,
        "categories": NeedCategory.choices, "available": active_only,
    })


@require_http_methods(["GET", "POST"])
@console_view
def resource_create(request):
    partner_id = _int_param(request, "partner")
    if partner_id is None:
        raise NotFound("partner_not_found", gettext("请先从联盟单位页面选择单位。"))
    partner = selectors.partner_for(request.user, partner_id)
    form = ResourceForm(request.POST or None, initial={
        "available_from": timezone.localdate(), "region_code": partner.region_id})
    return form_page(
        request, form,
        save=lambda _: resource_services.resource_create(
            actor=request.user, partner_id=partner.pk, data=form.to_input()),
        done=lambda resource: (gettext("已登记资源。"), _resource_url(resource.pk)),
        title=gettext("%(name)s：新的资源") % {"name": partner.name},
        back=_partner_url(partner.pk))


@require_GET
@console_view
def resource_detail(request, resource_id: int):
    resource = selectors.resource_for(request.user, resource_id)
    allocations = (resource.allocations.select_related("project")
                   .filter(project__in=selectors.projects_visible_to(request.user))
                   .order_by("-taken_at"))
    return render(request, "alliance/console/resource_detail.html", {
        "resource": resource, "allocations": allocations,
        "can_manage": selectors.can_manage_partner(request.user, resource.partner),
    })


@require_http_methods(["GET", "POST"])
@console_view
def resource_edit(request, resource_id: int):
    resource = selectors.resource_for(request.user, resource_id)
    form = ResourceForm(request.POST or None, initial=ResourceForm.initial_for(resource))
    return form_page(
        request, form,
        save=lambda _: resource_services.resource_update(
            actor=request.user, resource_id=resource.pk, data=form.to_input()),
        done=lambda _: (gettext("已保存。"), _resource_url(resource.pk)),
        title=resource.title, back=_resource_url(resource.pk))


# --- matching and routing -------------------------------------------------------------------

@require_GET
@console_view
def need_match(request, need_id: int):
    need = need_for(request.user, need_id)
    suggestions = selectors.resources_for_need(need.pk, request.user)
    routings = selectors.routings_for_need(need.pk, request.user)
    routed_partners = {r.partner_id for r in routings}
    projects = selectors.projects_visible_to(request.user).filter(needs__need_id=need.pk)
    return render(request, "alliance/console/need_match.html", {
        "need": need, "suggestions": suggestions, "routings": routings,
        "routed_partners": routed_partners, "projects": projects,
        "is_open": need.status in (NeedStatus.SUBMITTED, NeedStatus.ACCEPTED,
                                   NeedStatus.IN_PROJECT),
        "can_manage": selectors.is_manager(request.user),
    })


@require_http_methods(["GET", "POST"])
@console_view
def need_route(request, need_id: int):
    need = need_for(request.user, need_id)
    partner_id = _int_param(request, "partner")
    initial = {"partner": partner_id, "resource": _int_param(request, "resource"),
               "description": need.description}
    form = RouteForm(request.POST or None, initial=initial)
    partner = selectors.partner_for(request.user, partner_id) if partner_id else None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            routing = routing_services.routing_create(
                actor=request.user, need_id=need.pk, partner_id=d["partner"],
                resource_id=d["resource"], description=d["description"],
                message=d["message"])
        except ServiceError as error:
            refusal_on_form(form, error)
        else:
            messages.success(request, gettext("已派单给 %(name)s，对方答复后会通知您。")
                             % {"name": routing.partner.name})
            return redirect("alliance_console:need_match", need.pk)
    return render(request, "alliance/console/need_route.html", {
        "need": need, "partner": partner, "form": form})


@require_GET
@console_view
def routing_list(request):
    status = request.GET.get("status", "")
    status = status if status in RoutingStatus.values else ""
    qs = selectors.routings_visible_to(request.user).select_related("partner", "region")
    if status:
        qs = qs.filter(status=status)
    return render(request, "alliance/console/routing_list.html", {
        "page": _page(request, qs), "status": status,
        "statuses": RoutingStatus.choices})


@require_GET
@console_view
def routing_detail(request, routing_id: int):
    routing = selectors.routing_for(request.user, routing_id)
    return render(request, "alliance/console/routing_detail.html", {
        "routing": routing, "history": routing_services.ROUTING_WORKFLOW.timeline(routing)})


# --- projects -------------------------------------------------------------------------------

@require_GET
@console_view
def project_list(request):
    status = request.GET.get("status", "")
    status = status if status in ProjectStatus.values else ""
    query = request.GET.get("q", "").strip()[:80]
    page = _page(request, selectors.project_rows(request.user, status=status, search=query))
    partners = selectors.project_partner_names([p.pk for p in page])
    return render(request, "alliance/console/project_list.html", {
        "page": page,
        "rows": [{"p": p, "partners": partners[p.pk]} for p in page],
        "status": status, "statuses": ProjectStatus.choices, "query": query,
        "can_manage": selectors.is_manager(request.user),
    })


@require_http_methods(["GET", "POST"])
@console_view
def project_create(request):
    need_id = _int_param(request, "need")
    need = need_for(request.user, need_id) if need_id else None
    initial = {"title": need.title if need else "",
               "owner_region_code": need.owner.region_id if need else ""}
    form = ProjectForm(request.POST or None, initial=initial, user=request.user,
                       resources=selectors.resources_to_take(request.user))

    def save(d):
        data = ProjectInput(title=d["title"], description=d["description"],
                            owner_region_code=d["owner_region_code"], progress=d["progress"],
                            cost_fen=form.cost_fen)
        taken = ((d["resource"], d["quantity"]),) if d.get("resource") else ()
        return project_services.project_create(
            actor=request.user, data=data, need_ids=(need.pk,) if need else (),
            resources=taken)

    return form_page(
        request, form, save=save,
        done=lambda project: (gettext("已新建项目。下一步：加入联盟单位的资源。"),
                              _project_url(project.pk)),
        title=gettext("新建项目"), back=reverse("alliance_console:projects"),
        notice=(gettext("项目会纳入需求 #%(id)s“%(t)s”。") % {"id": need.pk, "t": need.title}
                if need else ""))


def _project_context(request, project, **forms):
    today = timezone.localdate()
    needs = selectors.project_needs(project, request.user)
    in_project = {n["id"] for n in needs}
    candidates = []
    resources = []
    if project.is_open:
        candidates = list(
            needs_visible_to(request.user)
            .filter(region_q("region", project.owner.region.prefix),
                    status__in=[NeedStatus.SUBMITTED, NeedStatus.ACCEPTED])
            .exclude(pk__in=in_project).select_related("region").order_by("-created_at")[:100])
        resources = list(selectors.available_on(
            selectors.with_remaining(selectors.resources_visible_to(request.user)), today)
            .filter(remaining__gt=0).select_related("partner").order_by("category", "title")[:200])
    milestones = list(project.milestones.all())
    return {
        "project": project, "needs": needs, "candidates": candidates,
        "allocations": selectors.project_allocations(project), "resources": resources,
        "milestones": milestones, "milestones_done": sum(1 for m in milestones if m.done_at),
        "history": project_services.PROJECT_WORKFLOW.timeline(project),
        "partners": selectors.project_partner_names([project.pk])[project.pk],
        "can_manage": selectors.is_manager(request.user),
        "need_form": forms.get("need_form") or AddNeedForm(),
        "allocate_form": forms.get("allocate_form") or AllocateForm(),
        "milestone_form": forms.get("milestone_form") or MilestoneForm(),
        "category_labels": dict(NeedCategory.choices),
    }


@require_GET
@console_view
def project_detail(request, project_id: int):
    project = selectors.project_for(request.user, project_id)
    return render(request, "alliance/console/project_detail.html",
                  _project_context(request, project))


def _project_post(request, project_id, form_class, form_name, action, success):
    """POST handlers of the project page: on a refusal, the page again with the error on
    its form; on success, back to the page."""
    project = selectors.project_for(request.user, project_id)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            action(project, form.cleaned_data)
        except ServiceError as error:
            refusal_on_form(form, error)
        else:
            messages.success(request, success)
            return redirect("alliance_console:project_detail", project.pk)
    project.refresh_from_db()
    return render(request, "alliance/console/project_detail.html",
                  _project_context(request, project, **{form_name: form}), status=400)


@require_POST
@console_view
def project_add_need(request, project_id: int):
    return _project_post(
        request, project_id, AddNeedForm, "need_form",
        lambda p, d: project_services.project_add_need(actor=request.user, project_id=p.pk,
                                                       need_id=d["need"]),
        gettext("已把需求纳入项目，反映人会收到通知。"))


@require_POST
@console_view
def project_allocate(request, project_id: int):
    return _project_post(
        request, project_id, AllocateForm, "allocate_form",
        lambda p, d: project_services.project_allocate(
            actor=request.user, project_id=p.pk, resource_id=d["resource"],
            quantity=d["quantity"]),
        gettext("已加入资源。"))


@require_POST
@console_view
def project_add_milestone(request, project_id: int):
    return _project_post(
        request, project_id, MilestoneForm, "milestone_form",
        lambda p, d: project_services.milestone_add(actor=request.user, project_id=p.pk,
                                                    title=d["title"], due_on=d["due_on"]),
        gettext("已添加节点。"))


def _simple_post(request, project_id: int, call, success: str):
    selectors.project_for(request.user, project_id)  # out of scope: 404 before any role check
    return run_action(request, call, success=success, back=_project_url(project_id))


@require_POST
@console_view
def project_remove_need(request, project_id: int, need_id: int):
    return _simple_post(request, project_id, lambda: project_services.project_remove_need(
        actor=request.user, project_id=project_id, need_id=need_id),
        gettext("已把需求移出项目，它回到需求清单。"))


@require_POST
@console_view
def project_release(request, project_id: int, resource_id: int):
    return _simple_post(request, project_id, lambda: project_services.project_release(
        actor=request.user, project_id=project_id, resource_id=resource_id),
        gettext("已移除资源，名额已释放。"))


@require_POST
@console_view
def milestone_done(request, project_id: int, milestone_id: int):
    done = request.POST.get("done", "1") == "1"
    return _simple_post(request, project_id, lambda: project_services.milestone_set_done(
        actor=request.user, project_id=project_id, milestone_id=milestone_id, done=done),
        gettext("已更新节点。"))


@require_POST
@console_view
def project_start(request, project_id: int):
    return _simple_post(request, project_id, lambda: project_services.project_start(
        actor=request.user, project_id=project_id), gettext("项目已启动。"))


@require_http_methods(["GET", "POST"])
@console_view
def project_edit(request, project_id: int):
    project = selectors.project_for(request.user, project_id)
    form = ProjectEditForm(request.POST or None, initial={
        "title": project.title, "description": project.description,
        "progress": project.progress, "cost_yuan": project.cost_fen / 100})
    return form_page(
        request, form,
        save=lambda d: project_services.project_update(
            actor=request.user, project_id=project.pk, title=d["title"],
            description=d["description"], progress=d["progress"], cost_fen=form.cost_fen),
        done=lambda _: (gettext("已保存。"), _project_url(project.pk)),
        title=project.title, back=_project_url(project.pk))


@require_http_methods(["GET", "POST"])
@console_view
def project_close(request, project_id: int):
    project = selectors.project_for(request.user, project_id)
    form = CloseForm(request.POST or None, initial={"results": project.results})
    return form_page(
        request, form,
        save=lambda d: project_services.project_close(
            actor=request.user, project_id=project.pk, results=d["results"],
            outcome=d["outcome"]),
        done=lambda _: (gettext("项目已完成，其中的需求已标为解决并通知了反映人。"),
                        _project_url(project.pk)),
        title=gettext("完成项目：%(t)s") % {"t": project.title},
        back=_project_url(project.pk), submit=gettext("确认完成"))


@require_http_methods(["GET", "POST"])
@console_view
def project_cancel(request, project_id: int):
    project = selectors.project_for(request.user, project_id)
    form = CancelForm(request.POST or None)
    return form_page(
        request, form,
        save=lambda d: project_services.project_cancel(
            actor=request.user, project_id=project.pk, reason=d["reason"], needs=d["needs"]),
        done=lambda _: (gettext("项目已取消。"), _project_url(project.pk)),
        title=gettext("取消项目：%(t)s") % {"t": project.title},
        back=_project_url(project.pk), submit=gettext("确认取消"), danger=True)

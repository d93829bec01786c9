"""Staff console pages for the needs list (需求清单): filtered list, a need with its raisers,
history, actions, similar needs and merging; recording a need for a walk-in worker; the
.xlsx export. Thin: parse a form, call a service or selector, render.

Everything is scoped to the staff member's region; anything outside it answers 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nuanxin.accounts.models import User, UserKind
from nuanxin.accounts.phones import normalize_phone
from nuanxin.accounts.selectors import region_path, staff_profile_of
from nuanxin.accounts.services import audit
from nuanxin.common.errors import NotFound, ServiceError
from nuanxin.common.exports import xlsx_response
from nuanxin.common.forms import OUT_OF_REACH, run_action
from nuanxin.common.scoping import console_view
from nuanxin.geo.models import Region, RegionLevel
from nuanxin.needs import selectors, services, xlsx
from nuanxin.needs.forms import EditForm, FilterForm, RecordForm
from nuanxin.needs.models import OPEN_STATUSES
from nuanxin.needs.presenters import STATUS_TONE, event_rows

PAGE_SIZE = 50
RECORD_REGION_LIMIT = 1000

# action slug → (service, name of the text the service takes, success message)
ACTIONS = {
    "accept": (services.need_accept, "note", _("已受理。")),
    "decline": (services.need_decline, "reason", _("已不予受理，理由已告知反映人。")),
    "resolve": (services.need_resolve, "outcome", _("已标记为解决，反映人会收到评价邀请。")),
    "not-feasible": (services.need_mark_not_feasible, "reason", _("已标记为暂无法解决。")),
    "reopen": (services.need_reopen, "reason", _("已重新受理。")),
}


def _filters_from(request):
    form = FilterForm(request.GET or None,
                      regions=selectors.region_filter_choices(request.user))
    if request.GET and not form.is_valid():
        return form, None
    filters = form.to_filters() if request.GET else selectors.NeedFilters()
    try:
        selectors.check_filters(request.user, filters)
    except ServiceError as error:
        form.add_error(None, str(error.message))
        return form, None
    return form, filters


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@require_GET
@console_view
def need_list(request):
    form, filters = _filters_from(request)
    if filters is None:
        return render(request, "needs/console/list.html",
                      {"form": form, "page": None, "rows": []}, status=400)
    page = Paginator(selectors.needs_for_staff(request.user, filters), PAGE_SIZE).get_page(
        request.GET.get("page"))
    for need in page:
        need.tone = STATUS_TONE.get(need.status, "")
    return render(request, "needs/console/list.html", {
        "form": form, "page": page, "query": _query_without_page(request),
        "can_manage": selectors.can_manage(request.user),
    })


@require_GET
@console_view
def need_export(request):
    form, filters = _filters_from(request)
    if filters is None:
        return render(request, "needs/console/list.html",
                      {"form": form, "page": None}, status=400)
    content = xlsx.needs_workbook(selectors.needs_for_staff(request.user, filters))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return xlsx_response(content, filename=f"{gettext('需求清单')}-{stamp}.xlsx")


def _detail_context(request, need, *, edit_form=None) -> dict:
    similar = []
    if need.status in OPEN_STATUSES:
        similar = selectors.needs_similar(need, viewer=request.user)
    manage = selectors.can_manage(request.user)
    allowed = {slug for slug, action in (
        ("accept", "accept"), ("decline", "decline"), ("resolve", "resolve"),
        ("not-feasible", "mark_not_feasible"), ("reopen", "reopen"))
        if services.NEED_WORKFLOW.can(need, action)} if manage else set()
    return {
        "need": need,
        "tone": STATUS_TONE.get(need.status, ""),
        "region_label": region_path(Region.objects.select_related("parent__parent__parent")
                                    .get(code=need.region_id)),
        "is_open": need.status in OPEN_STATUSES,
        "is_overdue": need.status in OPEN_STATUSES and need.target_date is not None
        and need.target_date < timezone.localdate(),
        "raisers": selectors.need_raisers(need),
        "history": event_rows(selectors.need_events(need), viewer=request.user,
                              for_staff=True),
        "feedback": selectors.need_feedback(need),
        "similar": similar,
        "can_manage": manage,
        "allowed": allowed,
        "can_merge": manage and need.status in OPEN_STATUSES,
        "edit_form": edit_form or EditForm(initial={
            "title": need.title, "category": need.category, "urgency": need.urgency,
            "description": need.description}),
        "merged_into": need.merged_into_id,
    }


@require_GET
@console_view
def need_detail(request, need_id: int):
    need = selectors.need_for(request.user, need_id)
    return render(request, "needs/console/detail.html", _detail_context(request, need))


@require_POST
@console_view
def need_action(request, need_id: int, action: str):
    if action not in ACTIONS:
        raise NotFound("not_found", gettext("页面不存在。"))
    service, argument, done = ACTIONS[action]
    need = selectors.need_for(request.user, need_id)
    return run_action(
        request,
        lambda: service(actor=request.user, need_id=need.pk,
                        **{argument: request.POST.get("text", "")}),
        success=str(done), back=reverse("needs_console:detail", args=[need.pk]))


@require_POST
@console_view
def need_edit(request, need_id: int):
    need = selectors.need_for(request.user, need_id)
    form = EditForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.need_update(actor=request.user, need_id=need.pk, title=d["title"],
                                 category=d["category"], urgency=d["urgency"],
                                 description=d["description"])
        except OUT_OF_REACH:
            raise
        except ServiceError as error:
            form.add_error(None, str(error.message))
        else:
            messages.success(request, gettext("已保存。"))
            return redirect("needs_console:detail", need.pk)
    return render(request, "needs/console/detail.html",
                  _detail_context(request, need, edit_form=form), status=400)


@require_POST
@console_view
def need_merge(request):
    try:
        target_id = int(request.POST.get("target", ""))
    except ValueError:
        raise NotFound("need_not_found", gettext("找不到这条需求。")) from None
    target = selectors.need_for(request.user, target_id)
    source_ids = [int(v) for v in request.POST.getlist("source") if v.isdigit()]
    try:
        services.need_merge(actor=request.user, target_id=target.pk, source_ids=source_ids)
    except ServiceError as error:
        if isinstance(error, OUT_OF_REACH) and error.code != "need_not_found":
            raise
        messages.error(request, str(error.message))
    else:
        messages.success(request, gettext("已合并 %(n)d 条需求，反映人和关注人都已并入。")
                         % {"n": len(set(source_ids) - {target.pk})})
    return redirect("needs_console:detail", target.pk)


def _record_regions(user) -> list[Region]:
    """Where staff may record a need: the communities (and, for a street or above, the
    streets) of their region, their own first."""
    qs = Region.objects.visible_to(user).filter(
        level__in=[RegionLevel.COMMUNITY, RegionLevel.STREET])
    return list(qs.only("code", "name", "level").order_by("code")[:RECORD_REGION_LIMIT])


def _lookup_worker(request, raw_phone: str) -> User:
    """The worker behind a number typed at the counter (audited: it tells whether the
    number is registered)."""
    phone = normalize_phone(raw_phone)
    worker = User.objects.filter(phone=phone, kind=UserKind.WORKER).first()
    audit(actor=request.user, action="needs.worker.looked_up", obj_type="user",
          obj_id=worker.pk if worker else "-", ip=request.META.get("REMOTE_ADDR"),
          found=worker is not None)
    if worker is None:
        raise ServiceError("worker_not_found", _(
            "这个手机号还没有在暖新登录过。请骑手先用手机登录一次，或留空手机号登记。"))
    return worker


@require_http_methods(["GET", "POST"])
@console_view
def need_record(request):
    """Record a need for a worker at the counter (looked up by phone) or for nobody.
    "查找" checks the number first and shows who it is (masked), without recording."""
    regions = _record_regions(request.user)
    profile = staff_profile_of(request.user)
    initial = {"region": profile.org_unit.region_id} if profile else {}
    form = RecordForm(request.POST or None, regions=regions, initial=initial)
    found = None
    status = 200
    if request.method == "POST" and request.POST.get("lookup"):
        form = RecordForm(initial={**initial, **request.POST.dict()}, regions=regions)
        try:
            found = _lookup_worker(request, request.POST.get("phone", ""))
        except ServiceError as error:
            form.add_error("phone", str(error.message))
            status = 400
    elif request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                worker = _lookup_worker(request, d["phone"]) if d["phone"].strip() else None
                need = services.need_raise(
                    actor=request.user, worker=worker, data=services.NeedInput(
                        title=d["title"], category=d["category"], source=d["source"],
                        region_code=d["region"], description=d["description"],
                        urgency=d["urgency"]))
            except ServiceError as error:
                field = {"invalid_phone": "phone", "worker_not_found": "phone",
                         "title_required": "title", "title_too_long": "title",
                         "unknown_region": "region", "not_allowed": None}.get(error.code)
                form.add_error(field, str(error.message))
            else:
                messages.success(request, gettext("已登记需求 #%(id)d。") % {"id": need.pk})
                return redirect("needs_console:detail", need.pk)
    return render(request, "needs/console/record.html", {"form": form, "found": found},
                  status=status)

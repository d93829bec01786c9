"""Worker pages (phone first): raise a need, my needs, a need's progress, "me too" for
needs others raised nearby, and the rating once a need is resolved. Thin: parse, call a
service or selector, render."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nuanxin.accounts.models import UserKind
from nuanxin.accounts.selectors import community_choices, region_path, staff_profile_of
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.geo.models import Region, RegionLevel
from nuanxin.needs import selectors, services
from nuanxin.needs.forms import RaiseForm, RateForm
from nuanxin.needs.models import OPEN_STATUSES, NeedCategory, NeedSource, NeedStatus
from nuanxin.needs.presenters import CATEGORY_HINTS, STATUS_TONE, event_rows

PAGE_SIZE = 20


def worker_page(view):
    """Workers only. Staff who follow a link meant for workers land on the console page
    for the same thing; anyone else logs in first."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if user.kind != UserKind.WORKER:
            if staff_profile_of(user) is not None or user.is_superuser:
                if "need_id" in kwargs:
                    return redirect("needs_console:detail", kwargs["need_id"])
                return redirect("needs_console:list")
            return render(request, "error.html", {
                "status": 403, "message": gettext("这里是骑手、快递员和司机的页面。")}, status=403)
        try:
            return view(request, *args, **kwargs)
        except (NotFound, PermissionDenied) as error:
            return render(request, "error.html",
                          {"status": error.status, "message": error.message},
                          status=error.status)

    return wrapper


def _community_label(region: Region | None) -> str:
    return region_path(region) if region is not None else ""


@require_GET
@worker_page
def mine(request):
    page = Paginator(selectors.needs_of_worker(request.user), PAGE_SIZE).get_page(
        request.GET.get("page"))
    for need in page:
        need.tone = STATUS_TONE.get(need.status, "")
    home = selectors.worker_home_region(request.user)
    nearby_count = 0
    if home is not None:
        nearby_count = len([n for n in selectors.needs_open_nearby(request.user, home.code)
                            if not n.joined])
    return render(request, "needs/mine.html", {
        "page": page, "home": home, "nearby_count": nearby_count,
    })


def _region_options(query: str, chosen: str, home: Region | None, nearest: Region | None):
    """The communities to offer: home first, the one nearest the shared location, the one
    chosen before, and what the person searched for."""
    options: list[tuple[str, str]] = []
    seen = set()

    def add(region: Region | None, note: str = ""):
        if region is not None and region.code not in seen:
            seen.add(region.code)
            street = region.parent
            where = (f"（{street.name}，{street.parent.name}）"
                     if street is not None and street.parent is not None else "")
            options.append((region.code, f"{region.name}{note or where}"))

    add(home, gettext("（常驻社区）"))
    add(nearest, gettext("（离我最近）"))
    if chosen:
        add(Region.objects.select_related("parent__parent__parent")
            .filter(code=chosen, level=RegionLevel.COMMUNITY).first())
    for region in community_choices(query=query)[:50] if query else []:
        add(region)
    return options


def _float_or_none(value, low: float, high: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high else None


@require_http_methods(["GET", "POST"])
@worker_page
def raise_need(request):
    """我有困难/需求. Searching for another community, or sharing the location, posts the
    form back with `find` so nothing typed is lost."""
    home = selectors.worker_home_region(request.user)
    initial = {"region": home.code if home else ""}
    if request.GET.get("category") in NeedCategory.values:
        initial["category"] = request.GET["category"]
    finding = request.method == "POST" and bool(request.POST.get("find"))
    status = 200
    if finding:
        form = RaiseForm(initial={**initial, **request.POST.dict()})
    else:
        form = RaiseForm(request.POST or None, initial=initial)
    if request.method == "POST" and not finding:
        if form.is_valid():
            d = form.cleaned_data
            try:
                need = services.need_raise(actor=request.user, data=services.NeedInput(
                    title=d["title"], category=d["category"], source=NeedSource.ONLINE,
                    region_code=d["region"], description=d["description"], lat=d["lat"],
                    lng=d["lng"]))
            except ServiceError as error:
                field = {"title_required": "title", "title_too_long": "title",
                         "description_too_long": "description",
                         "invalid_category": "category", "unknown_region": "region",
                         "no_owner_unit": "region"}.get(error.code)
                form.add_error(field, str(error.message))
            else:
                messages.success(request, gettext("已提交。社区工作人员会尽快受理，进展会通知您。"))
                return redirect("needs:detail", need.pk)
        status = 400
    source = request.POST if request.method == "POST" else request.GET
    lat = _float_or_none(source.get("lat"), -90, 90)
    lng = _float_or_none(source.get("lng"), -180, 180)
    nearest = selectors.nearest_community(lat, lng) if None not in (lat, lng) else None
    chosen = str(form["region"].value() or "")
    if nearest is not None and (finding and source.get("find") == "location" or not chosen):
        chosen = nearest.code
    query = (source.get("q") or "").strip()[:20]
    nearby = selectors.needs_open_nearby(request.user, home.code, limit=5) if home else []
    return render(request, "needs/raise.html", {
        "form": form,
        "categories": [(value, label, CATEGORY_HINTS[value])
                       for value, label in NeedCategory.choices],
        "chosen_category": form["category"].value() or "",
        "region_options": _region_options(query, chosen, home, nearest),
        "chosen_region": chosen,
        "query": query,
        "located": nearest is not None or None not in (lat, lng),
        "lat": lat, "lng": lng,
        "home": home,
        "nearby": [n for n in nearby if not n.joined],
    }, status=status)


@require_GET
@worker_page
def nearby(request):
    home = selectors.worker_home_region(request.user)
    code = request.GET.get("region", "")
    region = None
    if code:
        region = Region.objects.select_related("parent__parent__parent").filter(
            code=code, level=RegionLevel.COMMUNITY).first()
    region = region or home
    needs = selectors.needs_open_nearby(request.user, region.code) if region else []
    return render(request, "needs/nearby.html", {
        "region": region, "region_label": _community_label(region), "needs": needs,
        "home": home,
    })


@require_GET
@worker_page
def detail(request, need_id: int):
    try:
        need = selectors.need_for(request.user, need_id)
    except NotFound:
        moved = selectors.merged_destination_for(request.user, need_id)
        if moved is None:
            raise
        return redirect("needs:detail", moved.pk)
    raiser = selectors.is_raiser(request.user, need)
    feedback = selectors.feedback_of(request.user, need) if raiser else None
    return render(request, "needs/detail.html", {
        "need": need,
        "region_label": _community_label(
            Region.objects.select_related("parent__parent__parent").get(code=need.region_id)),
        "tone": STATUS_TONE.get(need.status, ""),
        "is_open": need.status in OPEN_STATUSES,
        "history": event_rows(selectors.need_events(need), viewer=request.user,
                              for_staff=False),
        "raiser": raiser,
        "feedback": feedback,
        "can_rate": raiser and feedback is None and need.status == NeedStatus.RESOLVED,
        "rate_form": RateForm(),
    })


@require_POST
@worker_page
def me_too(request, need_id: int):
    try:
        need = services.need_raise_again(worker=request.user, need_id=need_id)
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as error:
        messages.error(request, str(error.message))
        return redirect("needs:nearby")
    messages.success(request, gettext("已记下：您也遇到了这个问题。进展会通知您。"))
    return redirect("needs:detail", need.pk)


@require_POST
@worker_page
def rate(request, need_id: int):
    form = RateForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("请打 1 到 5 分。"))
        return redirect("needs:detail", need_id)
    try:
        services.need_rate(worker=request.user, need_id=need_id,
                           score=form.cleaned_data["score"],
                           comment=form.cleaned_data["comment"])
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, gettext("谢谢您的评价！"))
    return redirect("needs:detail", need_id)

"""The energy console: cabinets on a map with live counts, a cabinet's slot grid, alarms,
work orders, swap records, fleet health and coverage.

Two kinds of people use it: station staff (scoped to their region, second factor as the
other consoles) and the members of a cabinet operator (an alliance partner: scoped to their
operator's cabinets). Thin views: parse, call a selector or service, render. Anything
outside the viewer's scope answers 404.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nuanxin.common.forms import posted_back, run_action
from nuanxin.common.qr import POSTER_TEMPLATE, Poster, poster_context, qr_file_response
from nuanxin.common.scoping import access_of, console_view
from nuanxin.energy.models import (
    AlarmKind,
    SwapState,
    WorkOrderKind,
    WorkOrderState,
)
from nuanxin.energy.qr import cabinet_token
from nuanxin.energy.selectors import console as selectors
from nuanxin.energy.services import safety, workorders
from nuanxin.energy.services.workflows import ALARM_WORKFLOW, WORK_ORDER_WORKFLOW
from nuanxin.geo.datum import from_wgs84, tile_crs

PAGE_SIZE = 50
# The overview polls this often (seconds): live enough for a control room, light on phones.
REFRESH_S = 10


def energy_console_view(view):
    """The one console front door (common.scoping.console_view: the staff gate with the
    second factor, refusals as pages), opened to cabinet operators' members too.

    Anonymous visitors choose a sign-in first; signed-in people who are neither staff nor an
    operator's members get a friendly 403."""
    inner = console_view(view, partners=True)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), "energy_console:login")
        staff = access_of(user).is_staff
        operator = None if staff else selectors.console_operator(user)
        if not staff and operator is None:
            return render(request, "error.html",
                          {"status": 403,
                           "message": gettext("换电柜工作台只对工作人员和换电运营商开放。")},
                          status=403)
        request.energy_operator = operator
        return inner(request, *args, **kwargs)

    return wrapper


def _render(request, template: str, context: dict, status: int = 200):
    """Operator members get the energy console's own frame (they have no other consoles);
    staff get the shared console navigation."""
    context.setdefault("base_template", "energy/console/partner_base.html"
                       if getattr(request, "energy_operator", None) is not None
                       else "console_base.html")
    context.setdefault("operator", getattr(request, "energy_operator", None))
    return render(request, template, context, status=status)


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _back(request, fallback: str) -> str:
    return posted_back(request, reverse(fallback), within="/console/energy/")


# --- sign-in chooser ----------------------------------------------------------------------

@require_GET
def login_choice(request):
    next_url = request.GET.get("next", "")
    if not next_url.startswith("/console/energy/"):
        next_url = reverse("energy_console:overview")
    try:
        partner_login = reverse("partner:login")
    except NoReverseMatch:
        partner_login = ""
    return render(request, "energy/console/login.html", {
        "staff_login": f"{reverse('accounts:staff_login')}?{urlencode({'next': next_url})}",
        "partner_login": f"{partner_login}?{urlencode({'next': next_url})}"
        if partner_login else "",
    })


# --- overview -----------------------------------------------------------------------------

def _markers(cabinets) -> list[dict]:
    crs = tile_crs()
    markers = []
    for cab in cabinets:
        lat, lng = from_wgs84(cab.lat, cab.lng, crs)
        markers.append({"id": cab.pk, "name": cab.name, "lat": lat, "lng": lng,
                        "online": cab.online, "alarms": cab.n_open_alarms,
                        "available": cab.n_available,
                        "url": reverse("energy_console:cabinet", args=[cab.pk])})
    return markers


@require_GET
@energy_console_view
def overview(request):
    query = request.GET.get("q", "").strip()[:60]
    cabinets = selectors.cabinets_with_counts(request.user, query=query)
    totals = {k: sum(getattr(c, f"n_{k}") for c in cabinets)
              for k in ("available", "charging", "empty", "fault", "locked", "open_alarms")}
    context = {"cabinets": cabinets, "query": query, "totals": totals,
               "refresh_s": REFRESH_S, "map_data": {"markers": _markers(cabinets)},
               "online": sum(1 for c in cabinets if c.online)}
    if request.headers.get("HX-Request"):
        return _render(request, "energy/console/_cabinet_rows.html", context)
    return _render(request, "energy/console/overview.html", context)


# --- one cabinet --------------------------------------------------------------------------

@require_GET
@energy_console_view
def cabinet_detail(request, cabinet_id: int):
    cabinet, slots = selectors.cabinet_grid(request.user, cabinet_id)
    counts = {state: sum(1 for s in slots if s.state == state)
              for state in selectors.SLOT_STATE_LABELS}
    open_alarms = list(selectors.alarms_for(request.user, state="unresolved",
                                            cabinet_id=cabinet.pk)[:20])
    context = {"cabinet": cabinet, "slots": slots, "counts": counts, "refresh_s": REFRESH_S,
               "state_labels": selectors.SLOT_STATE_LABELS, "open_alarms": open_alarms,
               "smoke_open": any(a.kind in safety.CABINET_LOCKING_KINDS for a in open_alarms)}
    if request.headers.get("HX-Request"):
        return _render(request, "energy/console/_slot_grid.html", context)
    context["rejections"] = selectors.rejections_for(cabinet)
    return _render(request, "energy/console/cabinet_detail.html", context)


@require_POST
@energy_console_view
def slot_unlock(request, cabinet_id: int, slot_id: int):
    selectors.cabinet_for(request.user, cabinet_id)
    return run_action(
        request, lambda: safety.slot_unlock(user=request.user, slot_id=slot_id),
        success=lambda slot: gettext("%(n)s 号仓已解锁。") % {"n": slot.number},
        back=reverse("energy_console:cabinet", args=[cabinet_id]))


@require_POST
@energy_console_view
def cabinet_unlock(request, cabinet_id: int):
    return run_action(
        request, lambda: safety.cabinet_unlock(user=request.user, cabinet_id=cabinet_id),
        success=gettext("整柜安全锁定已解除。"),
        back=reverse("energy_console:cabinet", args=[cabinet_id]))


def _scan_url(request, cabinet_id: int) -> str:
    token = cabinet_token(cabinet_id)
    try:
        path = reverse("energy:scan", args=[token])
    except NoReverseMatch:
        path = f"/energy/c/{token}/"
    return request.build_absolute_uri(path)


@require_GET
@energy_console_view
def cabinet_qr(request, cabinet_id: int):
    cabinet = selectors.cabinet_for(request.user, cabinet_id)
    hotline = cabinet.operator.hotline
    poster = Poster(
        url=_scan_url(request, cabinet.pk), title=_("扫码换电二维码"), name=cabinet.name,
        org=_("暖新 · 骑手换电"), call=_("扫码换电"), alt=_("扫码换电二维码"),
        help=_("打印后贴在柜体正面。骑手用微信或手机相机扫码即可开始换电；二维码带有签名，无法伪造。"),
        foot=cabinet.serial + (f" · {gettext('服务电话')} {hotline}" if hotline else ""),
        svg_url=reverse("energy_console:cabinet_qr_svg", args=[cabinet.pk]),
        png_url=reverse("energy_console:cabinet_qr_png", args=[cabinet.pk]),
        crumbs=((reverse("energy_console:overview"), _("换电柜")),
                (reverse("energy_console:cabinet", args=[cabinet.pk]), cabinet.name)))
    return _render(request, POSTER_TEMPLATE, poster_context(request, poster, cabinet=cabinet))


def _qr_file(request, cabinet_id: int, kind: str) -> HttpResponse:
    cabinet = selectors.cabinet_for(request.user, cabinet_id)
    return qr_file_response(request, _scan_url(request, cabinet.pk), kind=kind,
                            title=cabinet.name, filename=f"nuanxin-cabinet-{cabinet.serial}-qr")


@require_GET
@energy_console_view
def cabinet_qr_png(request, cabinet_id: int):
    return _qr_file(request, cabinet_id, "png")


@require_GET
@energy_console_view
def cabinet_qr_svg(request, cabinet_id: int):
    return _qr_file(request, cabinet_id, "svg")


# --- alarms -------------------------------------------------------------------------------

ALARM_STATE_FILTERS = [("unresolved", _("未解决")), ("open", _("待处理")),
                       ("acknowledged", _("已确认")), ("resolved", _("已解决")), ("", _("全部"))]


@require_GET
@energy_console_view
def alarm_list(request):
    state = request.GET.get("state", "unresolved")
    if state not in {code for code, _label in ALARM_STATE_FILTERS}:
        state = "unresolved"
    kind = request.GET.get("kind", "")
    if kind not in AlarmKind.values:
        kind = ""
    cabinet_id = _int(request.GET.get("cabinet"))
    cabinet = selectors.cabinet_for(request.user, cabinet_id) if cabinet_id else None
    alarms = selectors.alarms_for(request.user, state=state, kind=kind, cabinet_id=cabinet_id)
    page = Paginator(alarms, PAGE_SIZE).get_page(request.GET.get("page"))
    return _render(request, "energy/console/alarm_list.html", {
        "page": page, "state": state, "kind": kind, "cabinet": cabinet,
        "state_filters": ALARM_STATE_FILTERS, "kinds": AlarmKind.choices,
    })


@require_GET
@energy_console_view
def alarm_detail(request, alarm_id: int):
    alarm = selectors.alarm_for(request.user, alarm_id)
    return _render(request, "energy/console/alarm_detail.html", {
        "alarm": alarm, "history": ALARM_WORKFLOW.timeline(alarm),
        "work_orders": selectors.work_orders_for(request.user, alarm=alarm),
    })


@require_POST
@energy_console_view
def alarm_acknowledge(request, alarm_id: int):
    return run_action(
        request, lambda: safety.alarm_acknowledge(user=request.user, alarm_id=alarm_id),
        success=gettext("已确认，告警由您跟进。"), back=_back(request, "energy_console:alarms"))


@require_POST
@energy_console_view
def alarm_resolve(request, alarm_id: int):
    return run_action(
        request, lambda: safety.alarm_resolve(user=request.user, alarm_id=alarm_id,
                                              note=request.POST.get("note", "")[:500]),
        success=gettext("告警已标记为解决。"), back=_back(request, "energy_console:alarms"))


# --- work orders --------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@energy_console_view
def work_order_list(request):
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        battery_id = _int(request.POST.get("battery"))
        serial = request.POST.get("battery_serial", "").strip().upper()[:32]
        if serial and battery_id is None:
            battery_id = (selectors.batteries_visible_to(request.user).filter(serial=serial)
                          .values_list("pk", flat=True).first())
            if battery_id is None:
                messages.error(request, gettext("找不到编号为 %(s)s 的电池。") % {"s": serial})
                return redirect(_back(request, "energy_console:work_orders"))
        return run_action(
            request,
            lambda: workorders.work_order_open(
                user=request.user, kind=kind, battery_id=battery_id,
                slot_id=_int(request.POST.get("slot")), alarm_id=_int(request.POST.get("alarm")),
                cabinet_id=_int(request.POST.get("cabinet")),
                note=request.POST.get("note", "")[:200]),
            success=lambda order: gettext("已开工单 #%(n)s。") % {"n": order.pk},
            back=_back(request, "energy_console:work_orders"))
    state = request.GET.get("state", "open")
    if state not in WorkOrderState.values and state != "":
        state = "open"
    orders = selectors.work_orders_for(request.user, state=state)
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    return _render(request, "energy/console/work_orders.html", {
        "page": page, "state": state, "states": WorkOrderState.choices,
        "kinds": WorkOrderKind.choices,
    })


@require_GET
@energy_console_view
def work_order_detail(request, work_order_id: int):
    order = selectors.work_order_for(request.user, work_order_id)
    return _render(request, "energy/console/work_order_detail.html", {
        "o": order, "history": WORK_ORDER_WORKFLOW.timeline(order),
    })


@require_POST
@energy_console_view
def work_order_complete(request, work_order_id: int):
    return run_action(
        request,
        lambda: workorders.work_order_complete(user=request.user, work_order_id=work_order_id),
        success=lambda order: gettext("工单 #%(n)s 已完成。") % {"n": order.pk},
        back=_back(request, "energy_console:work_orders"))


@require_POST
@energy_console_view
def work_order_cancel(request, work_order_id: int):
    return run_action(
        request,
        lambda: workorders.work_order_cancel(user=request.user, work_order_id=work_order_id),
        success=lambda order: gettext("工单 #%(n)s 已取消。") % {"n": order.pk},
        back=_back(request, "energy_console:work_orders"))


# --- swaps --------------------------------------------------------------------------------

def _local_day_start(value: str) -> datetime | None:
    day = parse_date(value or "") if value and len(value) <= 10 else None
    # Years at the calendar's edges cannot be shifted to UTC or to the next day: no filter.
    if day is None or not 1900 <= day.year <= 9000:
        return None
    return datetime.combine(day, time.min, tzinfo=selectors.SHANGHAI)


@require_GET
@energy_console_view
def swap_list(request):
    cabinet_id = _int(request.GET.get("cabinet"))
    cabinet = selectors.cabinet_for(request.user, cabinet_id) if cabinet_id else None
    state = request.GET.get("state", "")
    if state not in SwapState.values:
        state = ""
    try:
        since = _local_day_start(request.GET.get("from", ""))
        until_day = _local_day_start(request.GET.get("to", ""))
    except ValueError:
        since = until_day = None
    until = until_day + timedelta(days=1) if until_day else None
    swaps = selectors.swaps_for(request.user, cabinet_id=cabinet_id, state=state,
                                since=since, until=until)
    page = Paginator(swaps, PAGE_SIZE).get_page(request.GET.get("page"))
    params = {k: v for k, v in {"cabinet": cabinet_id or "", "state": state,
                                "from": request.GET.get("from", "") if since else "",
                                "to": request.GET.get("to", "") if until else ""}.items() if v}
    return _render(request, "energy/console/swap_list.html", {
        "page": page, "rows": selectors.swap_rows(page), "cabinet": cabinet, "state": state,
        "states": SwapState.choices, "filters": params,
        "cabinets": selectors.cabinets_visible_to(request.user).order_by("name")
        .only("pk", "name")[:200],
    })


@require_GET
@energy_console_view
def swap_detail(request, swap_id: int):
    swap = selectors.swap_for(request.user, swap_id)
    return _render(request, "energy/console/swap_detail.html", {
        "s": swap, "rider": selectors.rider_label(swap.rider),
        "history": selectors.swap_timeline(swap),
        "work_orders": selectors.work_orders_for(request.user, swap=swap),
    })


# --- fleet health and coverage ------------------------------------------------------------

@require_GET
@energy_console_view
def fleet_health(request):
    health = selectors.fleet_health(request.user)
    chart = {"labels": [b["label"] for b in health["buckets"]],
             "counts": [b["count"] for b in health["buckets"]]}
    return _render(request, "energy/console/health.html", {"health": health, "chart": chart})


@require_GET
@energy_console_view
def coverage(request):
    months = _int(request.GET.get("months"), 6)
    months = min(max(months, 1), 24)
    data = selectors.coverage(request.user, months=months)
    for group in data["groups"]:  # each count with its month: a phone labels every cell
        group["cells"] = list(zip(data["months"], group["months"], strict=True))
    return _render(request, "energy/console/coverage.html",
                   {"data": data, "months": months, "now": timezone.now()})

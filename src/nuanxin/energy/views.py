"""Rider pages for the battery-swap cabinets, made for one hand, a 360 px phone in WeChat's
browser and a weak connection: cabinets near me, a cabinet, the QR scan that starts a swap,
the swap's live progress, and my plan and battery. Thin: parse, call a service or selector,
render. Every swap page is the rider's own (anyone else's is a 404, not a 403, so swap ids
cannot be probed)."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from functools import wraps
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nuanxin.common.errors import ServiceError
from nuanxin.energy import qr
from nuanxin.energy.models import (
    FINISHED_SWAP_STATES,
    SOH_RETIREMENT_PCT,
    BatteryModel,
    Cabinet,
    Swap,
)
from nuanxin.energy.selectors import riders
from nuanxin.energy.services import swaps
from nuanxin.energy.services.workflows import SWAP_WORKFLOW
from nuanxin.geo.datum import CRS, from_wgs84, tile_crs
from nuanxin.geo.models import Region, RegionLevel
from nuanxin.geo.spatial import distance_text
from nuanxin.stations.selectors import station_get_public

NEARBY_RADIUS_M = 5000
RECENT_SWAPS = 10

# What a rider can do about each refusal, shown under the service's own message. Codes not
# listed here still show the service's message (every refusal explains itself).
REFUSAL_HINTS = {
    "no_plan": gettext_lazy("开通换电套餐后就能扫码换电。可以到驿站或拨打运营商服务电话办理。"),
    "plan_expired": gettext_lazy("续费后就能继续换电。"),
    "plan_not_valid_here": gettext_lazy("请到您套餐所属运营商的换电柜换电。"),
    "wrong_model": gettext_lazy("请拨打运营商服务电话，工作人员会帮您换回套餐对应的电池。"),
    "model_not_offered": gettext_lazy("请去附近别的换电柜。"),
    "swap_open": gettext_lazy("请先完成或取消那一次，再扫码。"),
    "reserved_elsewhere": gettext_lazy("预约的电池在别的柜子里：可以去那里换，也可以先取消预约。"),
    "busy": gettext_lazy("柜子正忙，请等几秒再点一次。"),
    "cabinet_offline": gettext_lazy("可以稍后再试，或去附近别的柜子。"),
    "cabinet_disabled": gettext_lazy("请去附近别的柜子。"),
    "cabinet_safety_locked": gettext_lazy("工作人员正在处理，请去附近别的柜子。"),
    "no_battery": gettext_lazy("可以稍后再来，或去附近别的柜子。"),
    "no_empty_slot": gettext_lazy("旧电池没有地方放，请去附近别的柜子。"),
    "workers_only": gettext_lazy("请用骑手的手机号登录。"),
    "qr_invalid": gettext_lazy("请扫描换电柜上张贴的二维码。"),
    "qr_expired": gettext_lazy("请扫描换电柜上张贴的新二维码。"),
    "cabinet_not_found": gettext_lazy("请扫描换电柜上张贴的二维码。"),
}
# Refusals where another cabinet is the way out.
GO_ELSEWHERE = {"plan_not_valid_here", "model_not_offered", "cabinet_offline",
                "cabinet_disabled", "cabinet_safety_locked", "no_battery", "no_empty_slot",
                "cabinet_not_found"}
# Refusals about an open swap: the page links to it.
ABOUT_OPEN_SWAP = {"swap_open", "reserved_elsewhere"}

# The progress steps as the rider reads them: (label once reached or still ahead, label while
# the step is under way). The door-opening steps read as facts ("空仓门已打开") in the list.
STEP_LABELS = {
    "opening_return": (gettext_lazy("空仓门已打开"), gettext_lazy("正在打开空仓门…")),
    "returning": (gettext_lazy("放入旧电池并关门"), gettext_lazy("放入旧电池并关门")),
    "opening_release": (gettext_lazy("满电仓门已打开"), gettext_lazy("正在打开满电仓门…")),
    "taking": (gettext_lazy("取出新电池并关门"), gettext_lazy("取出新电池并关门")),
}


def _login_first(request):
    return redirect_to_login(request.get_full_path())


def rider_page(view):
    """Logged-in people only; anyone else logs in by phone and comes back here."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            if request.headers.get("HX-Request"):
                # A poll after the session ended: send the whole page to the login, not the
                # login form into the progress box.
                page = request.headers.get("HX-Current-URL") or request.get_full_path()
                login = redirect_to_login(urlsplit(page).path)["Location"]
                return HttpResponse(headers={"HX-Redirect": login})
            return _login_first(request)
        return view(request, *args, **kwargs)

    return wrapper


def _float(value: str | None, low: float, high: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high else None


def _new_request_key() -> str:
    """One per rendered form: tapping the button twice (or the page resending it on a weak
    connection) carries the same key, and the service returns the same swap."""
    return uuid.uuid4().hex


def _request_key(request) -> str:
    return (request.POST.get("request_key") or "").strip()[:64]


def _mine(request) -> dict:
    """The rider's plan, battery and open swap, read once per request."""
    if not request.user.is_authenticated:
        return {}
    if not hasattr(request, "_energy_mine"):
        request._energy_mine = riders.rider_energy(request.user)
    return request._energy_mine


def _rider_model_id(request) -> int | None:
    """The battery model the rider's plan covers: what "batteries you can take" counts."""
    plan = _mine(request).get("plan")
    if not plan:
        return None
    if plan.get("battery_model_id"):
        return plan["battery_model_id"]
    return (BatteryModel.objects.filter(code=plan["battery_model"])
            .values_list("pk", flat=True).first())


def _navigate_url(cabinet: Cabinet) -> str:
    # AMap's URI speaks GCJ-02: a WGS-84 point would send the rider 300–500 m astray.
    gcj_lat, gcj_lng = from_wgs84(cabinet.lat, cabinet.lng, CRS.GCJ02)
    return "https://uri.amap.com/marker?" + urlencode({
        "position": f"{gcj_lng},{gcj_lat}", "name": cabinet.name, "coordinate": "gaode",
        "callnative": 1,
    })


def _yuan(fen: int) -> str:
    return f"{fen // 100}" if fen % 100 == 0 else f"{fen / 100:.2f}"


def _refusal(error: ServiceError) -> dict:
    swap_id = error.details.get("swap_id") if error.code in ABOUT_OPEN_SWAP else None
    return {"code": error.code, "message": str(error.message),
            "hint": str(REFUSAL_HINTS.get(error.code, "")),
            "elsewhere": error.code in GO_ELSEWHERE, "swap_id": swap_id}


def _public_cabinet(**lookup) -> Cabinet:
    cabinet = (Cabinet.objects.select_related("operator__partner", "station")
               .filter(enabled=True, **lookup).first())
    if cabinet is None:
        raise Http404(_("没有找到这个换电柜。"))
    return cabinet


def _cabinet_facts(cabinet: Cabinet, model_id: int | None) -> dict:
    """The cabinet as the nearby list sees it: one definition of "batteries you can take"."""
    rows = riders.cabinets_nearby(lat=cabinet.lat, lng=cabinet.lng, limit=50, radius_m=100,
                                  model_id=model_id)
    for row in rows:
        if row["id"] == cabinet.pk:
            return row
    return {"id": cabinet.pk, "online": cabinet.online and not cabinet.safety_locked,
            "available": 0, "empty_slots": 0}


def _open_swap(request) -> Swap | None:
    swap_id = _mine(request).get("open_swap_id")
    if not swap_id:
        return None
    return (Swap.objects.select_related("cabinet")
            .filter(pk=swap_id, rider=request.user).first())


@require_GET
def nearby(request):
    """Cabinets near me, nearest first, with how many batteries I could take now."""
    lat = _float(request.GET.get("lat"), -90, 90)
    lng = _float(request.GET.get("lng"), -180, 180)
    district_code = request.GET.get("district", "")
    districts = list(Region.objects.filter(level=RegionLevel.DISTRICT)
                     .select_related("parent").only("code", "name", "parent__name")
                     .order_by("code"))
    place = station = None
    station_id = request.GET.get("station", "")
    if (lat is None or lng is None) and station_id.isdigit() and len(station_id) < 12:
        # From a station's 换电柜 amenity: its cabinets stand at its door, nearest first.
        try:
            station = station_get_public(int(station_id))
        except ServiceError:
            station = None
        else:
            lat, lng = station.lat, station.lng
    # A district chosen in the picker wins over a position the form still carries.
    if district_code:
        district = next((d for d in districts if d.code == district_code), None)
        if district and district.center_lat is not None:
            lat, lng, place = district.center_lat, district.center_lng, district
            station = None
    # A district centre is only a guess at where the rider is: look further round it.
    radius = NEARBY_RADIUS_M if place is None else NEARBY_RADIUS_M * 4
    model_id = _rider_model_id(request)
    hits = []
    if lat is not None and lng is not None:
        hits = riders.cabinets_nearby(lat=lat, lng=lng, limit=10, radius_m=radius,
                                      model_id=model_id)
    map_crs = tile_crs()
    open_swap = _open_swap(request) if request.user.is_authenticated else None
    # The rider's own reserved battery is not counted as available: the row says it is held.
    reserved = open_swap if open_swap is not None and open_swap.state == "reserved" else None
    rows, markers = [], []
    for hit in hits:
        url = reverse("energy:cabinet", args=[hit["serial"]])
        rows.append({**hit, "distance": distance_text(hit["distance_m"]), "url": url,
                     "reserved_until": reserved.deadline if reserved is not None
                     and reserved.cabinet_id == hit["id"] else None})
        mlat, mlng = from_wgs84(hit["lat"], hit["lng"], map_crs)
        markers.append({"name": hit["name"], "lat": mlat, "lng": mlng, "url": url,
                        "online": hit["online"], "available": hit["available"]})
    me = from_wgs84(lat, lng, map_crs) if lat is not None and lng is not None else None
    return render(request, "energy/rider/nearby.html", {
        "hits": rows, "lat": lat, "lng": lng, "place": place, "station": station,
        "districts": districts,
        "district_code": district_code, "radius_km": radius // 1000,
        "has_plan": model_id is not None, "open_swap": open_swap,
        "map_data": {"me": me, "markers": markers},
    })


@require_GET
def cabinet_detail(request, serial: str):
    cabinet = _public_cabinet(serial=serial)
    return _cabinet_page(request, cabinet)


def _cabinet_page(request, cabinet: Cabinet, *, refusal: dict | None = None, status=200):
    model_id = _rider_model_id(request)
    map_crs = tile_crs()
    mlat, mlng = from_wgs84(cabinet.lat, cabinet.lng, map_crs)
    facts = _cabinet_facts(cabinet, model_id)
    return render(request, "energy/rider/cabinet.html", {
        "cabinet": cabinet,
        "facts": facts,
        "navigate_url": _navigate_url(cabinet),
        "open_swap": _open_swap(request),
        "request_key": _new_request_key(),
        "refusal": refusal,
        "map_data": {"me": None, "markers": [{
            "name": cabinet.name, "lat": mlat, "lng": mlng, "url": "",
            "online": facts["online"], "available": facts["available"]}]},
    }, status=status)


@require_POST
def cabinet_reserve(request, serial: str):
    """Hold one full battery for ten minutes while the rider rides over."""
    cabinet = _public_cabinet(serial=serial)
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("energy:cabinet", args=[serial]))
    try:
        swap = swaps.swap_reserve(rider=request.user, cabinet_id=cabinet.pk,
                                  request_key=_request_key(request))
    except ServiceError as error:
        return _cabinet_page(request, cabinet, refusal=_refusal(error), status=error.status)
    return redirect("energy:swap", swap.pk)


@require_http_methods(["GET", "POST"])
@rider_page
def scan(request, token: str):
    """The address inside the cabinet's QR code: show the cabinet, and one big button."""
    try:
        cabinet_id = qr.cabinet_id_from_token(token)
        cabinet = (Cabinet.objects.select_related("operator__partner")
                   .filter(pk=cabinet_id, enabled=True).first())
        if cabinet is None:
            raise ServiceError("cabinet_not_found", _("这个换电柜已停用或不存在。"), status=404)
    except ServiceError as error:
        return render(request, "energy/rider/scan.html",
                      {"refusal": _refusal(error), "cabinet": None}, status=error.status)
    refusal, status = None, 200
    if request.method == "POST":
        try:
            swap = swaps.swap_start(rider=request.user, cabinet_token=token,
                                    request_key=_request_key(request))
        except ServiceError as error:
            refusal, status = _refusal(error), error.status
        else:
            return redirect("energy:swap", swap.pk)
    open_swap = _open_swap(request)
    return render(request, "energy/rider/scan.html", {
        "holding": _mine(request).get("battery") is not None,
        "cabinet": cabinet,
        "facts": _cabinet_facts(cabinet, _rider_model_id(request)),
        "open_swap": open_swap,
        # A reservation here is not in the way: starting turns it into the swap.
        "reserved_here": open_swap is not None and open_swap.cabinet_id == cabinet.pk
        and open_swap.state == "reserved",
        "token": token,
        "request_key": _new_request_key(),
        "refusal": refusal,
    }, status=status)


def _own_swap(user, swap_id: int) -> Swap:
    swap = (Swap.objects.select_related("cabinet__operator", "return_slot", "release_slot",
                                        "battery_released")
            .filter(pk=swap_id, rider=user).first())
    if swap is None:
        raise Http404(_("没有找到这次换电。"))
    return swap


# Which door the rider stands at in each step.
RETURN_STEPS = ("opening_return", "returning")
RELEASE_STEPS = ("opening_release", "taking")


# Failures that raise an alarm for the operator (door jams, unreadable batteries): the rider
# is told someone is on it. The others explain themselves (walked away, offline ...).
OPERATOR_INFORMED = {"door_jam", "release_failed", "battery_unread"}


def _steps(view: dict, swap: Swap) -> list[dict]:
    if swap.state in FINISHED_SWAP_STATES and swap.state != "completed":
        # A swap that ended early: its explanation says it all; a step list stuck at
        # "opening the door…" would only confuse.
        return []
    steps = []
    for step in view.get("steps") or []:
        done_label, current_label = STEP_LABELS.get(step["code"], (step["label"],) * 2)
        label = current_label if step["status"] == "current" else done_label
        steps.append({**step, "label": str(label)})
    if steps:
        steps.append({"code": "completed", "label": _("完成"),
                      "status": "done" if swap.state == "completed" else "todo"})
    return steps


def _swap_context(swap: Swap) -> dict:
    view = riders.swap_view(swap)
    finished = swap.state in FINISHED_SWAP_STATES
    step = swap.suspended_from if swap.state == "suspended" else swap.state
    door = (view.get("return_slot") if step in RETURN_STEPS
            else view.get("release_slot") if step in RELEASE_STEPS else None)
    released = view.get("battery_released")
    failure_code = view.get("failure_code") or ""
    return {
        "swap": swap,
        "view": view,
        "steps": _steps(view, swap),
        "finished": finished,
        "door": door,
        "deadline": swap.deadline,
        # The table's cancel: before the old battery is in, walking away costs nothing.
        "cancellable": SWAP_WORKFLOW.can(swap, "cancel"),
        "released": released,
        "operator_informed": failure_code in OPERATOR_INFORMED,
        "charged_yuan": _yuan(view.get("charged_fen") or 0),
        "hotline": swap.cabinet.operator.hotline,
        "navigate_url": _navigate_url(swap.cabinet),
        "low_health": _low_health(released),
        "soh_retirement_pct": SOH_RETIREMENT_PCT,
    }


def _low_health(battery: dict | None) -> bool:
    soh = (battery or {}).get("soh_pct")
    return soh is not None and soh < SOH_RETIREMENT_PCT


def _with_body(request, context: dict) -> dict:
    """Render the progress and fingerprint what it shows: the poll sends the fingerprint back
    and gets an empty 204 while nothing changed, which keeps a weak connection quiet and the
    button under the rider's thumb from being replaced mid-tap. (The facts are hashed, not
    the HTML: the form's CSRF token is masked afresh on every render.)"""
    facts = json.dumps([context["view"], context["steps"], context["door"],
                        get_language()], sort_keys=True, default=str)
    version = hashlib.sha1(facts.encode(), usedforsecurity=False).hexdigest()[:12]
    body = render_to_string("energy/rider/_swap_body.html", context, request=request)
    return {**context, "body": mark_safe(body), "version": version}  # noqa: S308 (rendered)


@require_GET
@rider_page
def swap_detail(request, swap_id: int):
    swap = _own_swap(request.user, swap_id)
    return render(request, "energy/rider/swap.html", _with_body(request, _swap_context(swap)))


@require_GET
@rider_page
def swap_status(request, swap_id: int):
    """The progress fragment htmx polls every second; once the swap is over the fragment
    comes back without its trigger, and the polling stops by itself."""
    swap = _own_swap(request.user, swap_id)
    context = _with_body(request, _swap_context(swap))
    if request.GET.get("v") == context["version"]:
        return HttpResponse(status=204)
    response = render(request, "energy/rider/_swap_status.html", context)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@rider_page
def swap_cancel(request, swap_id: int):
    swap = _own_swap(request.user, swap_id)
    try:
        swaps.swap_cancel(rider=request.user, swap_id=swap.pk)
    except ServiceError as error:
        # The page itself says what the swap is doing now; this says why it went on.
        messages.error(request, str(error.message))
    return redirect("energy:swap", swap.pk)


def _plan_out(plan: dict | None) -> dict | None:
    if not plan:
        return None
    per_swap = plan["kind"] == "per_swap"
    price = (_("%(yuan)s 元/次") if per_swap else _("%(yuan)s 元/月")) % {
        "yuan": _yuan(plan["price_fen"])}
    paid_until = plan.get("paid_until")
    return {**plan, "price": price,
            "paid_until": datetime.fromisoformat(paid_until) if paid_until else None}


@require_GET
@rider_page
def me(request):
    info = _mine(request)
    battery = info.get("battery")
    recent = list(Swap.objects.select_related("cabinet")
                  .filter(rider=request.user).order_by("-created_at")[:RECENT_SWAPS])
    return render(request, "energy/rider/me.html", {
        "info": info,
        "plan": _plan_out(info.get("plan")),
        "battery": battery,
        "low_health": _low_health(battery),
        "soh_retirement_pct": SOH_RETIREMENT_PCT,
        "recent": recent,
    })

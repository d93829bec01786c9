"""What riders read: cabinets near them with what they could take now, their plan and battery,
and the live view of one swap (the progress page and the API show the same dict)."""

from __future__ import annotations

import math

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from nuanxin.energy.models import (
    OPEN_SWAP_STATES,
    Battery,
    Cabinet,
    PlanKind,
    Subscription,
    SubscriptionStatus,
    Swap,
    SwapState,
)
from nuanxin.energy.services.offer import offerable_batteries, offerable_empty_slots
from nuanxin.energy.services.swaps import FAILURE_MESSAGES
from nuanxin.geo.spatial import haversine_m

S = SwapState
_M_PER_DEG = 111_320.0


def cabinets_nearby(*, lat: float, lng: float, limit: int = 10, radius_m: int = 5000,
                    model_id: int | None = None) -> list[dict]:
    """Enabled cabinets within `radius_m` of (lat, lng) (WGS-84), nearest first, each with the
    batteries a rider could take there now (`available`, of `model_id` if given)."""

    dlat = radius_m / _M_PER_DEG
    dlng = radius_m / (_M_PER_DEG * max(math.cos(math.radians(lat)), 0.01))
    rows = list(Cabinet.objects.filter(enabled=True, lat__gte=lat - dlat, lat__lte=lat + dlat,
                                       lng__gte=lng - dlng, lng__lte=lng + dlng)
                .values("id", "serial", "name", "lat", "lng", "online", "safety_locked",
                        "station_id", "address"))
    hits = []
    for row in rows:
        distance = haversine_m(lat, lng, row["lat"], row["lng"])
        if distance <= radius_m:
            hits.append((distance, row))
    hits.sort(key=lambda hit: (hit[0], hit[1]["id"]))
    hits = hits[:limit]
    ids = [row["id"] for _d, row in hits]
    available = dict(offerable_batteries(model_id=model_id).filter(slot__cabinet_id__in=ids)
                     .values("slot__cabinet_id").annotate(n=Count("id"))
                     .values_list("slot__cabinet_id", "n"))
    empty = dict(offerable_empty_slots().filter(cabinet_id__in=ids)
                 .values("cabinet_id").annotate(n=Count("id")).values_list("cabinet_id", "n"))
    return [{
        "id": row["id"], "serial": row["serial"], "name": row["name"], "address": row["address"],
        "lat": row["lat"], "lng": row["lng"], "distance_m": round(distance),
        "online": row["online"], "safety_locked": row["safety_locked"],
        "available": available.get(row["id"], 0), "empty_slots": empty.get(row["id"], 0),
        "station_id": row["station_id"],
    } for distance, row in hits]


def cabinet_public(cabinet: Cabinet) -> dict:
    """The public facts of one cabinet, as the nearby list gives them, without a distance."""

    return {
        "id": cabinet.pk, "serial": cabinet.serial, "name": cabinet.name,
        "address": cabinet.address, "lat": cabinet.lat, "lng": cabinet.lng,
        "online": cabinet.online, "enabled": cabinet.enabled,
        "safety_locked": cabinet.safety_locked, "slot_count": cabinet.slot_count,
        "station_id": cabinet.station_id, "operator": str(cabinet.operator),
        "hotline": cabinet.operator.hotline,
        "available": offerable_batteries().filter(slot__cabinet=cabinet).count(),
        "empty_slots": offerable_empty_slots().filter(cabinet=cabinet).count(),
    }


def _battery_out(battery: Battery | None) -> dict | None:
    if battery is None:
        return None
    return {"serial": battery.serial, "soc_pct": round(battery.soc_pct, 1),
            "soh_pct": round(battery.soh_pct, 1), "cycle_count": battery.cycle_count,
            "model": battery.model.code, "model_name": battery.model.name,
            "chemistry": battery.model.chemistry,
            "flagged_for_retirement": battery.flagged_for_retirement}


def rider_energy(user) -> dict:
    """The rider's plan, the battery in hand and their open swap (if any)."""
    sub = (Subscription.objects.select_related("plan", "plan__battery_model", "plan__operator")
           .filter(rider=user, status=SubscriptionStatus.ACTIVE).first())
    plan = None
    if sub is not None:
        p = sub.plan
        plan = {"subscription_id": sub.pk, "plan_id": p.pk, "name": p.name, "kind": p.kind,
                "kind_label": str(PlanKind(p.kind).label), "price_fen": p.price_fen,
                "battery_model": p.battery_model.code,
                "battery_model_name": p.battery_model.name,
                "operator": str(p.operator), "starts_at": sub.starts_at.isoformat(),
                "paid_until": sub.paid_until.isoformat() if sub.paid_until else None,
                "expired": (p.kind == PlanKind.MONTHLY and sub.paid_until is not None
                            and sub.paid_until <= timezone.now())}
    battery = Battery.objects.select_related("model").filter(holder=user).first()
    open_swap = (Swap.objects.filter(rider=user, state__in=OPEN_SWAP_STATES)
                 .values_list("pk", flat=True).first())
    return {"plan": plan, "battery": _battery_out(battery), "open_swap_id": open_swap}


_STEP_ORDER = [S.OPENING_RETURN, S.RETURNING, S.OPENING_RELEASE, S.TAKING]


def _steps(swap: Swap) -> list[dict]:
    labels = {
        S.OPENING_RETURN: _("打开空仓门"),
        S.RETURNING: _("放入旧电池并关门"),
        S.OPENING_RELEASE: _("打开满电仓门"),
        S.TAKING: _("取出新电池并关门"),
    }
    order = list(_STEP_ORDER)
    pickup = swap.battery_returned_id is None and swap.state != S.RESERVED
    if pickup:
        order = order[2:]
    state = swap.state
    if state == S.SUSPENDED:
        state = swap.suspended_from
    elif state in (S.FAILED, S.CANCELLED):
        # Where it stopped: the step it was in when it ended.
        last = swap.events.filter(to_state=swap.state).values_list("from_state", flat=True) \
            .first()
        state = last or ""
        if state == S.SUSPENDED:
            state = swap.suspended_from or S.OPENING_RETURN
    if swap.state == S.COMPLETED:
        current = len(order)
    elif swap.state in (S.RESERVED, S.EXPIRED):
        current = -1
    else:
        current = order.index(state) if state in order else 0
    steps = []
    for index, step in enumerate(order):
        status = "done" if index < current else "current" if index == current else "todo"
        steps.append({"code": str(step), "label": str(labels[step]), "status": status})
    return steps


def _message(swap: Swap) -> str:

    state = swap.state
    if state == S.RESERVED:
        return _("已为您保留一块满电电池，请在 %(time)s 前到柜扫码。") % {
            "time": timezone.localtime(swap.deadline).strftime("%H:%M") if swap.deadline
            else "-"}
    if state == S.OPENING_RETURN:
        return _("正在打开 %(n)s 号空仓门……") % {"n": swap.return_slot.number}
    if state == S.RETURNING:
        return _("请把旧电池放入 %(n)s 号仓并关好仓门。") % {"n": swap.return_slot.number}
    if state == S.OPENING_RELEASE:
        return _("正在打开 %(n)s 号满电仓门……") % {"n": swap.release_slot.number}
    if state == S.TAKING:
        return _("请从 %(n)s 号仓取出新电池并关好仓门。") % {"n": swap.release_slot.number}
    if state == S.SUSPENDED:
        return _("换电柜暂时离线，恢复后会自动继续；30 分钟内未恢复将结束本次换电，不会收费。")
    if state == S.COMPLETED:
        return _("换电完成，祝您一路平安！")
    if state == S.CANCELLED:
        return _("已取消，电池仍在您手上，不收费。")
    if state == S.EXPIRED:
        return _("预约已过期，保留的电池已释放。")
    return str(FAILURE_MESSAGES.get(swap.failure_code, _("换电未完成，本次不收费。")))


def swap_view(swap: Swap) -> dict:
    """One swap as the rider sees it; the live page polls this (through the API)."""
    swap = (Swap.objects.select_related("cabinet", "cabinet__operator", "return_slot",
                                        "release_slot", "battery_released__model",
                                        "battery_returned", "subscription__plan")
            .get(pk=swap.pk))
    released = None
    if swap.state == S.COMPLETED and swap.battery_released is not None:
        released = _battery_out(swap.battery_released)
    charge = None
    if swap.state == S.COMPLETED:
        charge = swap.subscription.charges.filter(swap=swap).values_list("amount_fen",
                                                                          flat=True).first()
    return {
        "id": swap.pk,
        "state": swap.state,
        "label": str(S(swap.state).label),
        "open": swap.state in OPEN_SWAP_STATES,
        "cabinet": {"id": swap.cabinet_id, "serial": swap.cabinet.serial,
                    "name": swap.cabinet.name, "hotline": swap.cabinet.operator.hotline},
        "return_slot": swap.return_slot.number if swap.return_slot else None,
        "release_slot": swap.release_slot.number if swap.release_slot else None,
        "first_pickup": swap.battery_returned_id is None,
        "steps": _steps(swap),
        "message": str(_message(swap)),
        "deadline": swap.deadline.isoformat() if swap.deadline else None,
        "battery_released": released,
        "charged_fen": charge or 0,
        "failure_code": swap.failure_code or None,
        "failure": (str(_message(swap)) if swap.state == S.FAILED else None),
        "created_at": swap.created_at.isoformat(),
        "finished_at": swap.finished_at.isoformat() if swap.finished_at else None,
    }

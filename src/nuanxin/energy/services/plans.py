"""Riders' plans: subscribe, renew, cancel; the charge of a completed per-swap swap; the check a
swap makes before it starts. Money is integer fen throughout.

A charge is a row in `Charge`; the database refuses a second charge for the same swap
(one-to-one) and a second month charge for the same period, so a retried call never takes
money twice.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import User, UserKind
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.energy.models import (
    OPEN_SWAP_STATES,
    Battery,
    BatteryStatus,
    Cabinet,
    Charge,
    ChargeKind,
    Plan,
    PlanKind,
    Subscription,
    SubscriptionStatus,
    Swap,
    SwapState,
)
from nuanxin.energy.services.workflows import SUBSCRIPTION_WORKFLOW


def add_month(moment: datetime) -> datetime:
    """The same time one calendar month later (31 Jan → 28/29 Feb)."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def rider_lock(rider: User) -> None:
    """Serialise one rider's plan changes and swap starts: two taps on \"subscribe\" make
    one subscription, and a cancel cannot slip between a swap's plan check and its start."""
    User.objects.select_for_update().filter(pk=rider.pk).first()


def subscription_active(rider: User) -> Subscription | None:
    return (Subscription.objects.select_related("plan", "plan__battery_model", "plan__operator")
            .filter(rider=rider, status=SubscriptionStatus.ACTIVE).first())


@transaction.atomic
def subscription_start(*, rider: User, plan_id: int, at: datetime | None = None) -> Subscription:
    """Subscribe: a monthly plan takes the month's price now and runs one calendar month;
    a per-swap plan costs nothing until a swap completes."""
    if rider.kind != UserKind.WORKER:
        raise PermissionDenied("workers_only", _("只有骑手可以订购换电套餐。"))
    plan = Plan.objects.filter(pk=plan_id, active=True).first()
    if plan is None:
        raise NotFound("plan_not_found", _("这个套餐不存在或已停售。"))
    rider_lock(rider)
    if Subscription.objects.filter(rider=rider, status=SubscriptionStatus.ACTIVE).exists():
        raise ServiceError("already_subscribed", _("您已有生效中的换电套餐，请先取消再换套餐。"),
                           status=409)
    now = at or timezone.now()
    monthly = plan.kind == PlanKind.MONTHLY
    sub = Subscription.objects.create(rider=rider, plan=plan, starts_at=now,
                                      paid_until=add_month(now) if monthly else None)
    SUBSCRIPTION_WORKFLOW.record(sub, "energy.subscription.started", actor=rider, at=now,
                                 to_state=sub.status,
                                 data={"plan": plan.code, "paid_until": _iso(sub.paid_until)})
    if monthly:
        Charge.objects.create(rider=rider, subscription=sub, kind=ChargeKind.MONTH,
                              amount_fen=plan.price_fen, period_start=now)
    return sub


@transaction.atomic
def subscription_renew(*, rider: User, at: datetime | None = None) -> Subscription:
    """Pay the next month of a monthly plan: it runs on from where it was paid up to (or from
    now, if that has passed). Renewing twice pays two months, each charged once."""
    rider_lock(rider)
    sub = (Subscription.objects.select_related("plan")
           .filter(rider=rider, status=SubscriptionStatus.ACTIVE).first())
    if sub is None:
        raise ServiceError("no_plan", _("您还没有生效中的换电套餐。"), status=409)
    if sub.plan.kind != PlanKind.MONTHLY:
        raise ServiceError("not_monthly", _("按次计费的套餐无需续费。"), status=409)
    now = at or timezone.now()
    period_start = max(sub.paid_until or now, now)
    try:
        with transaction.atomic():
            Charge.objects.create(rider=rider, subscription=sub, kind=ChargeKind.MONTH,
                                  amount_fen=sub.plan.price_fen, period_start=period_start)
    except IntegrityError:
        raise ServiceError("already_paid", _("这个月已经付过了。"), status=409) from None
    sub.paid_until = add_month(period_start)
    sub.save(update_fields=["paid_until"])
    SUBSCRIPTION_WORKFLOW.record(sub, "energy.subscription.renewed", actor=rider, at=now,
                                 from_state=sub.status, to_state=sub.status,
                                 data={"period_start": _iso(period_start),
                                       "paid_until": _iso(sub.paid_until)})
    return sub


@transaction.atomic
def subscription_cancel(*, rider: User, at: datetime | None = None) -> Subscription:
    """End the plan now (no refund of a month begun). Refused while a swap is open: the
    swap must finish (or be cancelled) first, so no swap runs without a plan."""
    rider_lock(rider)
    sub = Subscription.objects.filter(rider=rider, status=SubscriptionStatus.ACTIVE).first()
    if sub is None:
        raise ServiceError("no_plan", _("您还没有生效中的换电套餐。"), status=409)
    if Swap.objects.filter(rider=rider, state__in=OPEN_SWAP_STATES).exists():
        raise ServiceError("swap_open", _("您有一次换电还没有结束，请先完成或取消。"), status=409)
    SUBSCRIPTION_WORKFLOW.apply(sub, "cancel", actor=rider, at=at or timezone.now())
    return sub


def swap_charge(*, swap: Swap) -> Charge | None:
    """Charge a completed swap on a per-swap plan, exactly once; monthly plans: nothing.

    Runs in the caller's transaction (the swap's completion); a second call returns the
    charge already made.
    """
    if swap.state != SwapState.COMPLETED:
        raise ValueError("only a completed swap is charged")
    plan = swap.subscription.plan
    if plan.kind != PlanKind.PER_SWAP:
        return None
    existing = Charge.objects.filter(swap=swap).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Charge.objects.create(rider=swap.rider, subscription=swap.subscription,
                                         kind=ChargeKind.SWAP, amount_fen=plan.price_fen,
                                         swap=swap)
    except IntegrityError:
        return Charge.objects.get(swap=swap)


@dataclass
class Eligibility:
    subscription: Subscription
    held: Battery | None  # the battery the rider brings back (None: a first pickup)


def swap_eligibility(*, rider: User, cabinet: Cabinet, at: datetime | None = None) -> Eligibility:
    """The plan side of "may this rider swap here now?", or a ServiceError saying why not."""
    now = at or timezone.now()
    sub = subscription_active(rider)
    if sub is None:
        raise ServiceError("no_plan", _("您还没有换电套餐，请先订购套餐。"), status=403)
    plan = sub.plan
    if plan.kind == PlanKind.MONTHLY and (sub.paid_until is None or sub.paid_until <= now):
        raise ServiceError("plan_expired", _("您的包月套餐已到期，请续费后再换电。"), status=403)
    if plan.operator_id != cabinet.operator_id:
        raise ServiceError("plan_not_valid_here",
                           _("您的套餐不能在这个运营商的换电柜使用。"), status=403)
    held = Battery.objects.select_related("model").filter(holder=rider).first()
    if held is not None and held.model_id != plan.battery_model_id:
        raise ServiceError("wrong_model",
                           _("您手上的电池型号与套餐不符，请联系运营商处理。"), status=409)
    has_model = Battery.objects.filter(
        slot__cabinet=cabinet, model_id=plan.battery_model_id,
        status__in=(BatteryStatus.FULL, BatteryStatus.CHARGING)).exists()
    if not has_model:
        raise ServiceError("model_not_offered",
                           _("这个换电柜没有您套餐适用型号的电池。"), status=409)
    return Eligibility(subscription=sub, held=held)

"""Riders' plans: what is charged, when, and never twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from nuanxin.common.errors import ServiceError
from nuanxin.energy.models import Charge, PlanKind, Subscription, SubscriptionStatus
from nuanxin.energy.services import plans, swaps
from tests.energy.test_swaps import ledger_holds  # noqa: F401 - autouse: the ledger holds
from tests.factories import energy as f
from tests.factories.people import WorkerFactory

pytestmark = pytest.mark.django_db


def test_a_monthly_plan_charges_the_month_and_runs_one_calendar_month():
    op = f.operator()
    plan = f.plan(op=op, kind=PlanKind.MONTHLY, price_fen=29900)
    rider = WorkerFactory()
    start = datetime(2027, 1, 31, 2, 0, tzinfo=UTC)
    sub = plans.subscription_start(rider=rider, plan_id=plan.pk, at=start)
    assert sub.paid_until == datetime(2027, 2, 28, 2, 0, tzinfo=UTC)
    assert list(Charge.objects.filter(rider=rider).values_list("kind", "amount_fen")) == [
        ("month", 29900)]


def test_a_per_swap_plan_costs_nothing_until_a_swap():
    op = f.operator()
    plan = f.plan(op=op, kind=PlanKind.PER_SWAP, price_fen=600)
    rider = WorkerFactory()
    sub = plans.subscription_start(rider=rider, plan_id=plan.pk)
    assert sub.paid_until is None
    assert not Charge.objects.filter(rider=rider).exists()


def test_a_second_subscription_is_refused():
    op = f.operator()
    rider = WorkerFactory()
    plans.subscription_start(rider=rider, plan_id=f.plan(op=op).pk)
    with pytest.raises(ServiceError) as err:
        plans.subscription_start(rider=rider, plan_id=f.plan(op=op).pk)
    assert err.value.code == "already_subscribed" and err.value.status == 409
    assert Charge.objects.filter(rider=rider).count() == 1


def test_a_plan_no_longer_sold_or_a_non_worker_is_refused():
    op = f.operator()
    plan = f.plan(op=op)
    plan.active = False
    plan.save()
    with pytest.raises(ServiceError) as err:
        plans.subscription_start(rider=WorkerFactory(), plan_id=plan.pk)
    assert err.value.code == "plan_not_found"
    with pytest.raises(ServiceError) as err:
        plans.subscription_start(rider=f.operator_user(op), plan_id=f.plan(op=op).pk)
    assert err.value.code == "workers_only"


def test_renewing_continues_from_the_paid_date_and_charges_each_month_once():
    op = f.operator()
    rider = WorkerFactory()
    start = timezone.now()
    sub = plans.subscription_start(rider=rider, plan_id=f.plan(op=op).pk, at=start)
    first_end = sub.paid_until
    sub = plans.subscription_renew(rider=rider, at=start + timedelta(days=3))
    assert sub.paid_until == plans.add_month(first_end)
    months = Charge.objects.filter(rider=rider, kind="month").order_by("period_start")
    assert [c.period_start for c in months] == [start, first_end]


def test_renewing_a_lapsed_plan_starts_from_now():
    op = f.operator()
    rider = WorkerFactory()
    start = timezone.now() - timedelta(days=90)
    plans.subscription_start(rider=rider, plan_id=f.plan(op=op).pk, at=start)
    now = timezone.now()
    sub = plans.subscription_renew(rider=rider, at=now)
    assert sub.paid_until == plans.add_month(now)


def test_a_per_swap_plan_is_not_renewed():
    op = f.operator()
    rider = WorkerFactory()
    plans.subscription_start(rider=rider, plan_id=f.plan(op=op, kind=PlanKind.PER_SWAP).pk)
    with pytest.raises(ServiceError) as err:
        plans.subscription_renew(rider=rider)
    assert err.value.code == "not_monthly"


def test_cancelling_ends_the_plan_and_swaps_are_then_refused():
    cab = f.cabinet()
    rider = f.subscribed_rider(op=cab.operator)
    sub = plans.subscription_cancel(rider=rider)
    assert sub.status == SubscriptionStatus.CANCELLED
    with pytest.raises(ServiceError) as err:
        swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    assert err.value.code == "no_plan"
    # A new plan can be taken after cancelling.
    plans.subscription_start(rider=rider, plan_id=f.plan(op=cab.operator).pk)
    assert Subscription.objects.filter(rider=rider, status="active").count() == 1


def test_cancelling_is_refused_while_a_swap_is_open():
    cab = f.cabinet()
    rider = f.subscribed_rider(op=cab.operator)
    swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    with pytest.raises(ServiceError) as err:
        plans.subscription_cancel(rider=rider)
    assert err.value.code == "swap_open"


def test_only_a_completed_swap_is_charged():
    cab = f.cabinet()
    rider = f.subscribed_rider(op=cab.operator, kind=PlanKind.PER_SWAP)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    with pytest.raises(ValueError):
        plans.swap_charge(swap=swap)
    assert not Charge.objects.filter(rider=rider).exists()

"""A rider's part of the battery-swap service, for their personal-data export: plans, charges,
swaps and the battery in hand (no cabinet internals, no other rider)."""

from __future__ import annotations

from nuanxin.energy.models import Battery, Charge, Subscription, Swap


def _dt(value):
    return value.isoformat() if value else None


def export_energy(user) -> dict:
    battery = Battery.objects.filter(holder=user).first()
    return {
        "battery_in_hand": None if battery is None else {
            "serial": battery.serial, "charge_pct": round(battery.soc_pct),
            "health_pct": round(battery.soh_pct)},
        "plans": [{"plan": s.plan.name, "kind": s.plan.kind, "status": s.status,
                   "starts_at": _dt(s.starts_at), "paid_until": _dt(s.paid_until)}
                  for s in Subscription.objects.filter(rider=user).select_related("plan")
                  .order_by("created_at", "pk")],
        "charges": [{"kind": c.kind, "amount_fen": c.amount_fen, "swap_id": c.swap_id,
                     "at": _dt(c.created_at)}
                    for c in Charge.objects.filter(rider=user).order_by("created_at", "pk")],
        "swaps": [{"id": s.pk, "cabinet": s.cabinet.serial, "state": s.state,
                   "battery_returned": s.battery_returned.serial if s.battery_returned else None,
                   "battery_taken": s.battery_released.serial if s.battery_released else None,
                   "failure": s.failure_code or None, "started_at": _dt(s.created_at),
                   "finished_at": _dt(s.finished_at)}
                  for s in Swap.objects.filter(rider=user)
                  .select_related("cabinet", "battery_returned", "battery_released")
                  .order_by("created_at", "pk")],
    }

"""State of health (SoH) of batteries, estimated from their own telemetry.

A charge session runs from the first reading that shows the battery charging (SoC s0, the
BMS's lifetime Ah counter a0) to the last reading before it stops charging, leaves the slot
or reaches full (SoC s1, counter a1). When the session covered at least 30 SoC points, the
Ah a full 0-100 % charge takes is (a1 - a0) / ((s1 - s0) / 100); against the model's rated
capacity that is the SoH. Short top-ups say little (SoC gauges are coarse near the ends),
so they are not used. Estimates are smoothed against the previous one: a single odd
session (a hot day, a recalibrating gauge) moves the figure half-way, not all the way.

Cycles: one per rated capacity of cumulative charge (the lifetime Ah counter), or the
BMS's own count when that is higher.

The ingester calls `reading_apply` for each telemetry reading inside its batch (no queries
of its own: the batch writes the results in bulk) and `health_flag_low` after commit for
batteries that crossed the retirement line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from nuanxin.energy.models import (
    SOH_RETIREMENT_PCT,
    Alarm,
    AlarmKind,
    AlarmState,
    Battery,
    BatteryHealthSample,
)
from nuanxin.energy.services import alarms

log = logging.getLogger(__name__)

__all__ = ["CHARGING_CURRENT_A", "MIN_SESSION_SOC", "SMOOTHING", "Estimate", "reading_apply",
           "health_flag_low", "soh_from_session"]

# Above this current (A, positive = into the battery) the battery counts as charging.
CHARGING_CURRENT_A = 0.3
# Sessions shorter than this (SoC points) give no estimate.
MIN_SESSION_SOC = 30.0
# Weight of a new estimate against the previous one.
SMOOTHING = 0.5
# A gap this long between readings ends a session (the battery was away or the cabinet off).
SESSION_GAP = timedelta(minutes=15)
FULL_SOC = 99.5


@dataclass(frozen=True)
class Estimate:
    """One finished session's estimate: what becomes a BatteryHealthSample."""

    battery_id: int
    at: datetime
    soh_pct: float
    capacity_ah: float
    cycle_count: int
    crossed_retirement: bool  # the SoH fell below the retirement line with this estimate


def soh_from_session(*, soc_start: float, soc_end: float, ah_start: float, ah_end: float,
                     rated_capacity_ah: float) -> tuple[float, float] | None:
    """(capacity estimate Ah, SoH %) for one session, or None when it says too little."""
    delta_soc = soc_end - soc_start
    delta_ah = ah_end - ah_start
    if delta_soc < MIN_SESSION_SOC or delta_ah <= 0 or rated_capacity_ah <= 0:
        return None
    capacity = delta_ah / (delta_soc / 100.0)
    return capacity, max(0.0, min(100.0, capacity / rated_capacity_ah * 100.0))


def reading_apply(state: dict, *, soc: float, charge_ah: float, current_a: float,
                  reported_cycles: int | None, at: datetime, rated_capacity_ah: float,
                  has_samples: bool) -> Estimate | None:
    """Advance one battery's session with a new reading; returns the estimate when a
    session ends with enough charge in it.

    `state` holds the battery's fields as of the previous reading (soc_pct,
    charge_ah_total, session_start_soc, session_start_ah, soh_pct, cycle_count,
    last_telemetry_at, id) and is updated in place to the new reading.
    """
    estimate = None
    charging = current_a > CHARGING_CURRENT_A
    in_session = state["session_start_soc"] is not None
    last_at = state.get("last_telemetry_at")
    if in_session:
        gap = last_at is None or at - last_at > SESSION_GAP
        # A counter that went backwards means a new BMS (or a reset): the session is void.
        reset = charge_ah < state["charge_ah_total"]
        ended = (not charging or gap or soc < state["soc_pct"] - 1.0 or soc >= FULL_SOC)
        if reset:
            state["session_start_soc"] = state["session_start_ah"] = None
        elif ended:
            # Ends at this reading when it is the one that reached full (still charging and
            # continuous); otherwise at the previous reading, the last one still charging.
            if charging and not gap and soc >= FULL_SOC:
                soc_end, ah_end = soc, charge_ah
            else:
                soc_end, ah_end = state["soc_pct"], state["charge_ah_total"]
            result = soh_from_session(soc_start=state["session_start_soc"], soc_end=soc_end,
                                      ah_start=state["session_start_ah"], ah_end=ah_end,
                                      rated_capacity_ah=rated_capacity_ah)
            state["session_start_soc"] = state["session_start_ah"] = None
            if result is not None:
                capacity, soh = result
                previous = state["soh_pct"]
                smoothed = soh if not has_samples else (1 - SMOOTHING) * previous + SMOOTHING * soh
                smoothed = round(max(0.0, min(100.0, smoothed)), 2)
                state["soh_pct"] = smoothed
                estimate = Estimate(
                    battery_id=state["id"], at=at, soh_pct=smoothed, capacity_ah=round(capacity, 3),
                    cycle_count=state["cycle_count"],
                    crossed_retirement=(previous >= SOH_RETIREMENT_PCT > smoothed))
    if charging and state["session_start_soc"] is None and soc < FULL_SOC:
        state["session_start_soc"], state["session_start_ah"] = soc, charge_ah
    state["soc_pct"], state["charge_ah_total"], state["last_telemetry_at"] = soc, charge_ah, at
    cycles = int(charge_ah // rated_capacity_ah) if rated_capacity_ah > 0 else 0
    state["cycle_count"] = max(state["cycle_count"], cycles, reported_cycles or 0)
    if estimate is not None and estimate.cycle_count != state["cycle_count"]:
        estimate = Estimate(**{**estimate.__dict__, "cycle_count": state["cycle_count"]})
    return estimate


def samples_write(estimates: list[Estimate]) -> None:
    """Write the finished sessions' samples (inside the caller's transaction)."""
    BatteryHealthSample.objects.bulk_create(
        BatteryHealthSample(battery_id=e.battery_id, at=e.at, soh_pct=e.soh_pct,
                            cycle_count=e.cycle_count, capacity_ah=e.capacity_ah)
        for e in estimates)


def health_flag_low(*, battery_id: int, at: datetime) -> Alarm | None:
    """Raise the `low_health` alarm for a battery below the retirement line, once: not again
    while an earlier one is still unresolved."""
    with transaction.atomic():
        battery = (Battery.objects.select_related("slot__cabinet")
                   .filter(pk=battery_id).first())
        if battery is None or battery.soh_pct >= SOH_RETIREMENT_PCT:
            return None
        if Alarm.objects.filter(battery=battery, kind=AlarmKind.LOW_HEALTH).exclude(
                state=AlarmState.RESOLVED).exists():
            return None
        if battery.slot is None:
            # Alarms belong to a cabinet; one away from any is flagged when it next docks.
            return None
        log.info("battery %s below %s%% SoH (%.1f)", battery.serial, SOH_RETIREMENT_PCT,
                 battery.soh_pct)
        return alarms.alarm_raise(cabinet=battery.slot.cabinet, kind=AlarmKind.LOW_HEALTH,
                                  at=at, slot=battery.slot, battery=battery,
                                  value=battery.soh_pct)

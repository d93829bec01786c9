"""State of health from telemetry: charge sessions, the capacity estimate, the retirement
flag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nuanxin.energy.models import Alarm, Battery, BatteryHealthSample
from nuanxin.energy.services.health import reading_apply, soh_from_session
from tests.energy.test_ingest import FakeCabinet, cabinets, ingest  # noqa: F401 (fixtures)
from tests.factories import energy as f

T0 = datetime(2026, 6, 1, 20, 0, tzinfo=UTC)


def state(**over) -> dict:
    base = {"id": 1, "soc_pct": 20.0, "charge_ah_total": 1000.0, "session_start_soc": None,
            "session_start_ah": None, "soh_pct": 100.0, "cycle_count": 0,
            "last_telemetry_at": None}
    base.update(over)
    return base


def charge(st: dict, readings, *, rated=24.0, has_samples=False, start=T0):
    """Feed (soc, ah, current) readings one minute apart; returns the estimates."""
    out = []
    for n, (soc, ah, current) in enumerate(readings):
        est = reading_apply(st, soc=soc, charge_ah=ah, current_a=current, reported_cycles=None,
                            at=start + timedelta(minutes=n), rated_capacity_ah=rated,
                            has_samples=has_samples)
        if est is not None:
            out.append(est)
    return out


def test_session_estimate_is_delta_ah_over_delta_soc():
    assert soh_from_session(soc_start=20, soc_end=80, ah_start=100, ah_end=112,
                            rated_capacity_ah=24) == pytest.approx((20.0, 83.333), abs=0.01)
    # Too short a session says nothing; a counter that didn't move neither.
    assert soh_from_session(soc_start=60, soc_end=85, ah_start=0, ah_end=6,
                            rated_capacity_ah=24) is None
    assert soh_from_session(soc_start=10, soc_end=90, ah_start=5, ah_end=5,
                            rated_capacity_ah=24) is None
    # More charge than the rating allows is clamped to 100 %.
    assert soh_from_session(soc_start=0, soc_end=50, ah_start=0, ah_end=20,
                            rated_capacity_ah=24)[1] == 100.0


def test_a_session_ends_when_charging_stops():
    st = state()
    # 20 % -> 80 % taking 12 Ah on a 24 Ah battery: it holds 20 Ah, 83.3 %.
    readings = [(20 + 6 * i, 1000 + 1.2 * i, 8.0) for i in range(11)] + [(80, 1012, 0.0)]
    estimates = charge(st, readings)
    assert len(estimates) == 1
    assert estimates[0].soh_pct == pytest.approx(83.33, abs=0.01)
    assert estimates[0].capacity_ah == pytest.approx(20.0)
    assert st["soh_pct"] == pytest.approx(83.33, abs=0.01)
    assert st["session_start_soc"] is None


def test_a_session_ends_at_full_and_a_second_estimate_is_smoothed():
    st = state(soh_pct=90.0)
    readings = [(40 + 10 * i, 1000 + 1.8 * i, 6.0) for i in range(7)]  # 40 -> 100
    # 10.8 Ah for 60 points: 18 Ah, 75 %; smoothed with the previous 90 %: 82.5 %.
    estimates = charge(st, readings, has_samples=True)
    assert [round(e.soh_pct, 2) for e in estimates] == [82.5]


def test_short_sessions_gaps_and_discharge_give_no_estimate():
    st = state()
    assert charge(st, [(70, 1000, 5.0), (80, 1002, 5.0), (90, 1004, 5.0), (90, 1004, 0.0)]) == []
    st = state()
    # Taken out half-way (readings stop), brought back 2 hours later: the gap voids it.
    charge(st, [(20, 1000, 5.0), (40, 1004, 5.0)])
    assert charge(st, [(70, 1010, 5.0), (70, 1010, 0.0)],
                  start=T0 + timedelta(hours=2)) == []
    st = state()
    # The SoC fell while "charging" (a discharge the readings missed): the session ends at
    # the last good reading, 20 -> 60 % for 8 Ah, and the fall is not counted as charge.
    estimates = charge(st, [(20, 1000, 5.0), (60, 1008, 5.0), (30, 1008, 5.0), (31, 1008, 0)])
    assert [e.capacity_ah for e in estimates] == [20.0]


def test_cycles_count_rated_capacities_of_cumulative_charge():
    st = state(charge_ah_total=0.0, soc_pct=0.0)
    charge(st, [(50, 24 * 41 + 3, 0.0)])
    assert st["cycle_count"] == 41
    # The BMS's own count wins when higher.
    reading_apply(st, soc=50, charge_ah=24 * 41 + 3, current_a=0, reported_cycles=55,
                  at=T0 + timedelta(hours=1), rated_capacity_ah=24, has_samples=False)
    assert st["cycle_count"] == 55


@pytest.mark.django_db(transaction=True)
def test_a_worn_battery_is_estimated_and_flagged_once(regions, ingest, cabinets):  # noqa: F811
    cab = f.cabinet(full=0, charging=1, slots=4)
    bat = Battery.objects.select_related("slot").get(slot__cabinet=cab)
    ingester = ingest(cab.serial)
    dev = cabinets(cab.serial)

    def session(ah0: float) -> None:
        # 20 % -> 80 %, 10.8 Ah: 18 Ah of 24 rated, 75 %.
        for i in range(7):
            dev.telemetry(bat.serial, bat.slot.number, soc_pct=20.0 + 10 * i,
                          charge_ah=ah0 + 1.8 * i, current_a=6.0)
        dev.telemetry(bat.serial, bat.slot.number, soc_pct=80.0, charge_ah=ah0 + 10.8,
                      current_a=0.0)
        assert ingester.wait_idle(10)

    session(500.0)
    bat.refresh_from_db()
    assert bat.soh_pct == pytest.approx(75.0)
    sample = BatteryHealthSample.objects.get(battery=bat)
    assert sample.capacity_ah == pytest.approx(18.0)
    assert sample.cycle_count == bat.cycle_count == 21  # 510.8 Ah / 24 Ah
    assert bat.flagged_for_retirement
    alarms = Alarm.objects.filter(battery=bat, kind="low_health")
    assert alarms.count() == 1
    assert alarms.get().value == pytest.approx(75.0)

    session(600.0)  # still worn: a second sample, no second alarm
    assert BatteryHealthSample.objects.filter(battery=bat).count() == 2
    assert Alarm.objects.filter(battery=bat, kind="low_health").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_healthy_battery_is_not_flagged(regions, ingest, cabinets):  # noqa: F811
    cab = f.cabinet(full=0, charging=1, slots=4)
    bat = Battery.objects.select_related("slot").get(slot__cabinet=cab)
    ingester = ingest(cab.serial)
    dev = cabinets(cab.serial)
    # 10 % -> 90 %, 18.4 Ah: 23 Ah, 95.8 %.
    for i in range(9):
        dev.telemetry(bat.serial, bat.slot.number, soc_pct=10.0 + 10 * i,
                      charge_ah=100 + 2.3 * i, current_a=5.0)
    dev.telemetry(bat.serial, bat.slot.number, soc_pct=90.0, charge_ah=118.4, current_a=0.0)
    assert ingester.wait_idle(10)
    bat.refresh_from_db()
    assert bat.soh_pct == pytest.approx(95.83, abs=0.01)
    assert not bat.flagged_for_retirement
    assert not Alarm.objects.filter(battery=bat).exists()

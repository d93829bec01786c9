"""Riders scanning at the same moment, in real threads against PostgreSQL: different slots and
batteries, or a clear refusal; never one battery promised twice, never two swaps for one tap.

SQLite serialises every writer (IMMEDIATE transactions), so these races cannot happen there
and the tests are skipped with that reason.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from nuanxin.common.errors import ServiceError
from nuanxin.energy.models import OPEN_SWAP_STATES, Swap
from nuanxin.energy.services import custody, swaps
from tests.factories import energy as f

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgresql_only(regions):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers, so these races need PostgreSQL "
                    "(run with DATABASE_URL=postgres://...)")
    yield
    assert custody.ledger_verify() == []


def race(*calls):
    """Run the calls at the same instant, one thread each; results or ServiceErrors."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(5)
            results[i] = call()
        except ServiceError as exc:
            results[i] = exc
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_riders_at_one_cabinet_at_once_get_different_slots_and_batteries():
    cab = f.cabinet(full=4, charging=0)
    riders = [f.subscribed_rider(op=cab.operator) for _ in range(4)]
    results = race(*[lambda r=r: swaps.swap_start(rider=r, cabinet_id=cab.pk) for r in riders])
    assert all(isinstance(r, Swap) for r in results), results
    batteries = {r.battery_released_id for r in results}
    slots = [s for r in results for s in (r.return_slot_id, r.release_slot_id)]
    assert len(batteries) == 4 and len(set(slots)) == 8


def test_more_riders_than_batteries_get_a_clear_refusal():
    cab = f.cabinet(full=2, charging=0)
    riders = [f.subscribed_rider(op=cab.operator) for _ in range(5)]
    results = race(*[lambda r=r: swaps.swap_start(rider=r, cabinet_id=cab.pk) for r in riders])
    started = [r for r in results if isinstance(r, Swap)]
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(started) == 2 and len(refused) == 3, results
    assert {e.code for e in refused} == {"no_battery"}
    assert len({s.battery_released_id for s in started}) == 2


def test_a_double_tap_with_one_request_key_makes_one_swap():
    cab = f.cabinet()
    rider = f.subscribed_rider(op=cab.operator)
    results = race(*[lambda: swaps.swap_start(rider=rider, cabinet_id=cab.pk,
                                              request_key="tap-1")] * 3)
    assert all(isinstance(r, Swap) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Swap.objects.filter(rider=rider).count() == 1


def test_one_rider_at_two_cabinets_at_once_gets_one_swap():
    cab = f.cabinet()
    other = f.cabinet(op=cab.operator)
    rider = f.subscribed_rider(op=cab.operator)
    results = race(lambda: swaps.swap_start(rider=rider, cabinet_id=cab.pk),
                   lambda: swaps.swap_start(rider=rider, cabinet_id=other.pk))
    started = [r for r in results if isinstance(r, Swap)]
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(started) == 1 and len(refused) == 1, results
    assert refused[0].code in {"swap_open", "busy"} and refused[0].status == 409
    assert Swap.objects.filter(rider=rider, state__in=OPEN_SWAP_STATES).count() == 1


def test_a_reservation_and_a_scan_race_for_the_last_battery():
    cab = f.cabinet(full=1, charging=0)
    a, b = (f.subscribed_rider(op=cab.operator) for _ in range(2))
    results = race(lambda: swaps.swap_reserve(rider=a, cabinet_id=cab.pk),
                   lambda: swaps.swap_start(rider=b, cabinet_id=cab.pk))
    started = [r for r in results if isinstance(r, Swap)]
    assert len(started) == 1, results
    assert [r.code for r in results if isinstance(r, ServiceError)] == ["no_battery"]

"""Swaps end to end: a virtual cabinet on the real Mosquitto, the real ingester in-process, the
rider's hands played by the test. Nothing here calls the device-side services directly."""

from __future__ import annotations

import time

import pytest

from nuanxin.energy.models import Battery, Cabinet, PlanKind, Slot, Swap, SwapState
from nuanxin.energy.services import custody, swaps
from nuanxin.energy.simulator import Faults
from tests.factories import energy as f

pytestmark = pytest.mark.django_db(transaction=True)
S = SwapState


def wait_state(swap, states, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = Swap.objects.get(pk=swap.pk)
        if current.state in states:
            return current
        time.sleep(0.05)
    raise AssertionError(f"swap {swap.pk} stuck in {Swap.objects.get(pk=swap.pk).state}, "
                         f"wanted {states}: "
                         f"{list(current.events.values_list('action', flat=True))}")


def test_a_swap_through_the_broker(mqtt_ingester, virtual_cabinet):
    cab = virtual_cabinet(full=3, charging=1)
    rider = f.subscribed_rider(op=cab.cabinet.operator, kind=PlanKind.PER_SWAP)
    old = Battery.objects.get(holder=rider)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.cabinet.pk, request_key="e2e-1")
    slot = cab.wait_door_open(timeout=10)
    assert slot == swap.return_slot.number
    wait_state(swap, {S.RETURNING})
    cab.insert_battery(slot, old.serial)
    release = cab.wait_door_open(timeout=10)
    assert release == swap.release_slot.number
    wait_state(swap, {S.TAKING})
    taken = cab.take_battery(release)
    assert taken == swap.battery_released.serial
    swap = wait_state(swap, {S.COMPLETED})
    assert mqtt_ingester.wait_idle(10)
    assert Battery.objects.get(holder=rider).serial == taken
    old.refresh_from_db()
    assert old.slot_id == swap.return_slot_id
    assert swap.charge.amount_fen == 600
    assert custody.ledger_verify() == []


def test_a_door_that_always_jams_fails_the_swap_cleanly(mqtt_ingester, virtual_cabinet):
    cab = virtual_cabinet(full=3, charging=0, faults=Faults(door_jam=1.0, seed=1))
    rider = f.subscribed_rider(op=cab.cabinet.operator)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.cabinet.pk)
    swap = wait_state(swap, {S.FAILED})
    assert swap.failure_code == "door_jam"
    assert mqtt_ingester.wait_idle(10)
    assert Slot.objects.filter(cabinet=cab.cabinet, locked=True).count() == 2
    assert Battery.objects.filter(holder=rider).exists()
    assert custody.ledger_verify() == []


def test_a_cabinet_dropping_off_mid_swap_resumes_from_its_queue(mqtt_ingester, virtual_cabinet):
    cab = virtual_cabinet(full=3, charging=0)
    rider = f.subscribed_rider(op=cab.cabinet.operator)
    old = Battery.objects.get(holder=rider)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.cabinet.pk)
    slot = cab.wait_door_open(timeout=10)
    wait_state(swap, {S.RETURNING})
    cab.disconnect()
    # The broker publishes the cabinet's last will: offline, the swap waits.
    wait_state(swap, {S.SUSPENDED})
    assert not Cabinet.objects.get(pk=cab.cabinet.pk).online
    cab.insert_battery(slot, old.serial)  # queued while offline
    cab.reconnect()
    release = cab.wait_door_open(timeout=15)
    assert release == swap.release_slot.number
    wait_state(swap, {S.TAKING})
    cab.take_battery(release)
    swap = wait_state(swap, {S.COMPLETED})
    assert mqtt_ingester.wait_idle(10)
    actions = list(swap.events.values_list("action", flat=True))
    assert "energy.swap.suspended" in actions and "energy.swap.resumed" in actions
    assert custody.ledger_verify() == []


def test_a_wrong_battery_is_handed_back_through_the_broker(mqtt_ingester, virtual_cabinet):
    cab = virtual_cabinet(full=3, charging=0)
    rider = f.subscribed_rider(op=cab.cabinet.operator)
    stranger = f.subscribed_rider(op=cab.cabinet.operator)
    mine = Battery.objects.get(holder=rider)
    foreign = Battery.objects.get(holder=stranger)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.cabinet.pk)
    slot = cab.wait_door_open(timeout=10)
    wait_state(swap, {S.RETURNING})
    cab.insert_battery(slot, foreign.serial)
    assert cab.wait_door_open(timeout=10) == slot  # opened again to hand it back
    wait_state(swap, {S.RETURNING})
    assert cab.take_battery(slot) == foreign.serial
    # Closing the door empty after taking it back: the swap fails, nothing moved.
    swap = wait_state(swap, {S.FAILED})
    assert swap.failure_code == "wrong_battery"
    assert mqtt_ingester.wait_idle(10)
    assert Battery.objects.get(pk=foreign.pk).holder_id == stranger.pk
    assert Battery.objects.get(pk=mine.pk).holder_id == rider.pk
    assert custody.ledger_verify() == []


def test_a_battery_the_cabinet_cannot_read_through_the_broker(mqtt_ingester, virtual_cabinet):
    from nuanxin.energy.models import WorkOrder

    cab = virtual_cabinet(full=3, charging=0)
    rider = f.subscribed_rider(op=cab.cabinet.operator, kind=PlanKind.PER_SWAP)
    mine = Battery.objects.get(holder=rider)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.cabinet.pk)
    slot = cab.wait_door_open(timeout=10)
    wait_state(swap, {S.RETURNING})
    cab.insert_battery(slot, mine.serial, unread=True)
    assert cab.wait_door_open(timeout=10) == slot  # one more try
    wait_state(swap, {S.RETURNING})
    cab.close_door(slot)  # still unreadable
    swap = wait_state(swap, {S.FAILED})
    assert swap.failure_code == "battery_unread"
    assert mqtt_ingester.wait_idle(10)
    assert Slot.objects.get(pk=swap.return_slot_id).locked
    assert WorkOrder.objects.filter(slot_id=swap.return_slot_id, kind="inspect_slot").exists()
    assert Battery.objects.get(pk=mine.pk).holder_id == rider.pk
    assert not swap.rider.energy_charges.exists()
    assert custody.ledger_verify() == []

"""The custody ledger: moves append entries, `ledger_verify` catches every disagreement, and a
cabinet's report of a slot is reconciled into the ledger, never silently."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from nuanxin.common.ledger import AppendOnly
from nuanxin.energy.models import (
    Alarm,
    Battery,
    BatteryStatus,
    CustodyEntry,
    Place,
    Slot,
)
from nuanxin.energy.services import custody
from tests.factories import energy as f
from tests.factories.people import WorkerFactory

pytestmark = pytest.mark.django_db


def test_a_fresh_fleet_verifies():
    f.cabinet()
    f.battery(op=f.operator(), holder=WorkerFactory())
    assert custody.ledger_verify() == []


def test_a_move_updates_the_row_and_appends_one_entry():
    cab = f.cabinet(full=1, charging=0)
    battery = Battery.objects.get(slot__cabinet=cab)
    slot = battery.slot
    Slot.objects.filter(pk=slot.pk).update(charging=True)
    rider = WorkerFactory()
    entry = custody.battery_move(battery=battery, to_place=Place.RIDER, to_rider=rider,
                                 to_status=BatteryStatus.WITH_RIDER, action="test.take")
    battery.refresh_from_db()
    assert (battery.slot_id, battery.holder_id, battery.status) == (None, rider.pk,
                                                                    "with_rider")
    assert (entry.from_place, entry.from_slot_id, entry.to_place, entry.to_rider_id) == (
        "slot", slot.pk, "rider", rider.pk)
    assert not Slot.objects.get(pk=slot.pk).charging  # a slot charges only what is in it
    assert custody.ledger_verify() == []


def test_a_status_change_in_place_is_a_ledger_entry_too():
    cab = f.cabinet(full=1, charging=0)
    battery = Battery.objects.get(slot__cabinet=cab)
    custody.battery_move(battery=battery, to_place=Place.SLOT, to_slot=battery.slot,
                         to_status=BatteryStatus.QUARANTINED, action="energy.battery.quarantined")
    assert CustodyEntry.objects.filter(battery=battery).count() == 2
    assert custody.ledger_verify() == []


def test_entries_are_never_changed_nor_deleted_not_even_in_bulk():
    cab = f.cabinet(full=1, charging=0)
    battery = Battery.objects.get(slot__cabinet=cab)
    entry = CustodyEntry.objects.get(battery=battery)
    entry.to_status = BatteryStatus.RETIRED
    for attempt in (entry.save, entry.delete,
                    lambda: CustodyEntry.objects.filter(battery=battery).update(action="x"),
                    lambda: CustodyEntry.objects.filter(battery=battery).delete()):
        with pytest.raises(AppendOnly):
            attempt()
    assert CustodyEntry.objects.get(pk=entry.pk).to_status == BatteryStatus.FULL
    assert custody.ledger_verify() == []


def test_an_impossible_destination_is_refused():
    cab = f.cabinet(full=1, charging=0)
    battery = Battery.objects.get(slot__cabinet=cab)
    with pytest.raises(ValueError):
        custody.battery_move(battery=battery, to_place=Place.RIDER,
                             to_status=BatteryStatus.WITH_RIDER, action="test.bad")


def test_verify_catches_a_row_changed_behind_the_ledgers_back():
    cab = f.cabinet(full=1, charging=0)
    battery = Battery.objects.get(slot__cabinet=cab)
    Battery.objects.filter(pk=battery.pk).update(slot=None, holder=WorkerFactory(),
                                                 status=BatteryStatus.WITH_RIDER)
    problems = custody.ledger_verify()
    assert len(problems) == 1 and battery.serial in problems[0]
    assert "ledger says slot" in problems[0]


def test_verify_catches_a_battery_without_a_ledger():
    op = f.operator()
    bat = Battery.objects.create(serial=f.serial("BAT"), model=f.battery_model(), operator=op)
    assert custody.ledger_verify() == [f"battery {bat.serial} has no custody entry"]


def test_verify_catches_a_broken_chain_and_two_batteries_in_one_slot():
    cab = f.cabinet(full=2, charging=0)
    first, second = Battery.objects.filter(slot__cabinet=cab).order_by("slot__number")
    # An entry claiming the second battery moved into the first one's slot, from a place
    # it never was.
    CustodyEntry.objects.create(battery=second, at=timezone.now(), action="test.forged",
                                from_place=Place.DEPOT, to_place=Place.SLOT,
                                to_slot=first.slot, to_status=BatteryStatus.FULL)
    problems = " | ".join(custody.ledger_verify())
    assert "starts at depot" in problems
    assert f"the ledger puts {first.serial}, {second.serial} in it at once" in problems


def test_verify_catches_a_rider_with_two_batteries_in_the_ledger():
    op = f.operator()
    rider = WorkerFactory()
    f.battery(op=op, holder=rider)
    other = f.battery(op=op)
    CustodyEntry.objects.create(battery=other, at=timezone.now(), action="test.forged",
                                from_place=Place.DEPOT, to_place=Place.RIDER, to_rider=rider,
                                to_status=BatteryStatus.WITH_RIDER)
    problems = " | ".join(custody.ledger_verify())
    assert f"rider {rider.pk}: the ledger gives them" in problems


def test_the_verify_command_reports_problems():
    cab = f.cabinet(full=1, charging=0)
    call_command("energy", "verify")
    Battery.objects.filter(slot__cabinet=cab).update(status=BatteryStatus.QUARANTINED)
    with pytest.raises(CommandError, match="1 custody problem"):
        call_command("energy", "verify")


# --- reconciling what a cabinet reports ---------------------------------------------------

def _reconcile(cab, number, serial, unread=False):
    return custody.slot_reconcile(cabinet=cab, slot_number=number, battery_serial=serial,
                                  unread=unread, at=timezone.now(), source="snapshot")


def test_a_report_that_matches_moves_nothing():
    cab = f.cabinet(full=1, charging=0)
    battery = Battery.objects.get(slot__cabinet=cab)
    assert _reconcile(cab, 1, battery.serial) == []
    assert _reconcile(cab, 2, None) == []


def test_a_battery_gone_from_its_slot_goes_to_the_depot_quarantined_with_an_alarm():
    cab = f.cabinet(full=1, charging=0)
    battery = Battery.objects.get(slot__cabinet=cab)
    moves = _reconcile(cab, 1, None)
    assert [m.action for m in moves] == ["energy.battery.missing_from_slot"]
    battery.refresh_from_db()
    assert battery.slot_id is None and battery.status == BatteryStatus.QUARANTINED
    assert Alarm.objects.filter(cabinet=cab, slot__number=1).exists()
    assert custody.ledger_verify() == []


def test_a_battery_found_in_a_slot_is_moved_there_from_wherever_it_was():
    cab = f.cabinet(full=1, charging=0)
    rider = WorkerFactory()
    stray = f.battery(op=cab.operator, holder=rider, soc=30)
    moves = _reconcile(cab, 5, stray.serial)
    assert [(m.action, m.from_place, m.to_place) for m in moves] == [
        ("energy.battery.found_in_slot", "rider", "slot")]
    stray.refresh_from_db()
    assert stray.slot.number == 5 and stray.status == BatteryStatus.CHARGING
    assert custody.ledger_verify() == []


def test_another_operators_battery_found_in_a_slot_is_quarantined_there():
    cab = f.cabinet(full=0, charging=0)
    stray = f.battery(op=f.operator(), holder=WorkerFactory(), soc=100)
    _reconcile(cab, 1, stray.serial)
    stray.refresh_from_db()
    assert stray.status == BatteryStatus.QUARANTINED and stray.slot.cabinet_id == cab.pk


def test_a_swapped_battery_is_two_moves():
    cab = f.cabinet(full=1, charging=0)
    was = Battery.objects.get(slot__cabinet=cab)
    now_there = f.battery(op=cab.operator)  # at the depot
    moves = _reconcile(cab, 1, now_there.serial)
    assert [m.action for m in moves] == ["energy.battery.missing_from_slot",
                                         "energy.battery.found_in_slot"]
    assert custody.ledger_verify() == []
    assert Battery.objects.get(slot__cabinet=cab).pk == now_there.pk
    assert was.pk != now_there.pk


def test_an_unknown_or_unreadable_battery_in_an_empty_slot_locks_it():
    cab = f.cabinet(full=0, charging=0)
    assert _reconcile(cab, 3, "ALIEN-9999") == []
    assert _reconcile(cab, 4, None, unread=True) == []
    assert set(Slot.objects.filter(cabinet=cab, locked=True).values_list("number", flat=True)) \
        == {3, 4}
    assert set(Alarm.objects.filter(cabinet=cab).values_list("kind", flat=True)) == {
        "foreign_battery", "battery_unread"}

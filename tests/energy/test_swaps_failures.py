"""Every way a swap goes wrong ends in a consistent, explained state: nothing lost, nobody
charged twice. Device reports are fed through the service functions the ingester calls."""

from __future__ import annotations

import pytest

from nuanxin.energy.models import (
    Alarm,
    Battery,
    BatteryStatus,
    Charge,
    CustodyEntry,
    PlanKind,
    Slot,
    SwapState,
    WorkOrder,
    WorkOrderKind,
)
from nuanxin.energy.selectors.riders import swap_view
from nuanxin.energy.services import custody, swaps
from tests.energy.test_swaps import (  # noqa: F401 - the fixture is used by name
    ack_last,
    actions,
    door,
    door_commands,
    fresh,
    held,
    later,
    ledger_holds,
    return_battery,
    take_battery,
    tick,
    world,
)
from tests.factories import energy as f

pytestmark = pytest.mark.django_db
S = SwapState


def alarms(cab, kind):
    return Alarm.objects.filter(cabinet=cab, kind=kind)


# --- the cabinet goes offline --------------------------------------------------------------

def test_offline_mid_swap_suspends_and_queued_reports_resume_it():
    cab, rider = world()
    old = held(rider)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    assert door(swap, swap.return_slot.number, "opened")
    assert swaps.swap_on_cabinet_offline(cabinet=cab, at=later(0)) == 1
    swap = fresh(swap)
    assert swap.state == S.SUSPENDED and swap.suspended_from == S.RETURNING
    assert "离线" in swap_view(swap)["message"]
    # Back online: boot first, then the door report the cabinet queued meanwhile.
    assert swaps.swap_on_cabinet_online(cabinet=cab, at=later(5)) == 1
    assert fresh(swap).state == S.RETURNING
    assert door(swap, swap.return_slot.number, "closed", old.serial)
    swap = take_battery(fresh(swap))
    assert swap.state == S.COMPLETED
    assert "energy.swap.suspended" in actions(swap) and "energy.swap.resumed" in actions(swap)


def test_a_queued_report_arriving_before_the_boot_resumes_the_swap_too():
    cab, rider = world()
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    swaps.swap_on_cabinet_offline(cabinet=cab, at=later(0))
    assert door(swap, swap.return_slot.number, "opened")
    assert fresh(swap).state == S.RETURNING


def test_thirty_minutes_offline_fails_the_swap_and_tells_the_operator():
    cab, rider = world(kind=PlanKind.PER_SWAP)
    old = held(rider)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    swap = return_battery(swap, old.serial)
    assert door(swap, swap.release_slot.number, "opened")
    swaps.swap_on_cabinet_offline(cabinet=cab, at=later(0))
    assert tick(cab, 29 * 60) == 0
    assert tick(cab, 31 * 60) == 1
    swap = fresh(swap)
    assert swap.state == S.FAILED and swap.failure_code == "cabinet_offline"
    assert alarms(cab, "offline").exists()
    # The old battery is in the cabinet, the new one was never handed over, nothing charged.
    old.refresh_from_db()
    assert old.slot_id == swap.return_slot_id
    assert held(rider) is None
    assert not Charge.objects.filter(rider=rider).exists()
    assert "30 分钟" in swap_view(swap)["failure"]


# --- a door jams ----------------------------------------------------------------------------

def test_a_jammed_return_door_locks_the_slot_and_tries_another_once():
    cab, rider = world()
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    first_slot = swap.return_slot
    ack_last(swap, ok=False, error="door_jam")
    swap = fresh(swap)
    assert swap.state == S.OPENING_RETURN and swap.return_slot_id != first_slot.pk
    assert Slot.objects.get(pk=first_slot.pk).locked
    assert alarms(cab, "door_jam").filter(slot=first_slot).exists()
    assert door_commands(swap) == [first_slot.number, swap.return_slot.number]
    # The cabinet's own "jammed" report on the first door is no longer about this swap.
    assert door(cab, first_slot.number, "jammed") is False
    # The second door jams too: the swap fails, the rider keeps their battery.
    assert door(swap, swap.return_slot.number, "jammed")
    swap = fresh(swap)
    assert swap.state == S.FAILED and swap.failure_code == "door_jam"
    assert held(rider) is not None
    assert Slot.objects.filter(cabinet=cab, locked=True).count() == 2


def test_a_jammed_release_door_switches_to_another_full_battery():
    cab, rider = world(full=3, charging=0)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    swap = return_battery(swap, held(rider).serial)
    first = swap.battery_released
    ack_last(swap, ok=False, error="door_jam")
    swap = fresh(swap)
    assert swap.state == S.OPENING_RELEASE and swap.battery_released_id != first.pk
    swap = take_battery(swap)
    assert swap.state == S.COMPLETED and held(rider).pk != first.pk
    first.refresh_from_db()
    assert first.slot is not None and Slot.objects.get(pk=first.slot_id).locked


def test_a_release_door_that_never_opens_fails_without_a_charge():
    cab, rider = world(kind=PlanKind.PER_SWAP, full=1, charging=0)
    old = held(rider)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    swap = return_battery(swap, old.serial)
    # No other full battery to switch to: 15 s later the swap fails, explained.
    assert tick(cab, 20) == 1
    swap = fresh(swap)
    assert swap.state == S.FAILED and swap.failure_code == "release_failed"
    old.refresh_from_db()
    assert old.slot_id == swap.return_slot_id
    assert not Charge.objects.filter(rider=rider).exists()
    assert "旧电池已存入柜中" in swap_view(swap)["failure"]


def test_a_return_door_that_never_opens_counts_as_a_jam():
    cab, rider = world()
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    first_slot = swap.return_slot
    tick(cab, 16)
    swap = fresh(swap)
    assert swap.state == S.OPENING_RETURN and swap.return_slot_id != first_slot.pk
    assert Slot.objects.get(pk=first_slot.pk).locked


# --- the wrong battery ----------------------------------------------------------------------

def test_a_wrong_battery_is_handed_back_and_the_right_one_completes_the_swap():
    cab, rider = world()
    stranger = f.subscribed_rider(op=cab.operator)
    foreign = held(stranger)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    slot = swap.return_slot.number
    assert door(swap, slot, "opened")
    assert door(swap, slot, "closed", foreign.serial)
    swap = fresh(swap)
    assert swap.state == S.OPENING_RETURN
    assert door_commands(swap) == [slot, slot]  # reopened to hand it back
    foreign.refresh_from_db()
    assert foreign.holder_id == stranger.pk  # nothing moved yet
    swap = return_battery(swap, held(rider).serial)
    assert swap.state == S.OPENING_RELEASE
    assert take_battery(swap).state == S.COMPLETED


def test_a_foreign_battery_left_in_the_slot_is_recorded_there_and_the_swap_fails():
    cab, rider = world()
    mine = held(rider)
    stranger = f.subscribed_rider(op=cab.operator)
    foreign = held(stranger)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    slot = swap.return_slot
    assert door(swap, slot.number, "opened")
    assert door(swap, slot.number, "closed", foreign.serial)
    assert door(swap, slot.number, "opened")
    assert door(swap, slot.number, "closed", foreign.serial)
    swap = fresh(swap)
    assert swap.state == S.FAILED and swap.failure_code == "wrong_battery"
    foreign.refresh_from_db()
    assert foreign.slot_id == slot.pk and foreign.holder_id is None
    assert CustodyEntry.objects.filter(battery=foreign,
                                       action="energy.battery.found_in_slot").exists()
    mine.refresh_from_db()
    assert mine.holder_id == rider.pk  # the rider's own battery is still theirs


def test_a_wrong_battery_taken_back_fails_the_swap_with_nothing_moved():
    cab, rider = world()
    stranger = f.subscribed_rider(op=cab.operator)
    foreign = held(stranger)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    slot = swap.return_slot.number
    door(swap, slot, "opened")
    door(swap, slot, "closed", foreign.serial)
    door(swap, slot, "opened")
    door(swap, slot, "closed", None)
    swap = fresh(swap)
    assert swap.state == S.FAILED and swap.failure_code == "wrong_battery"
    assert held(stranger).pk == foreign.pk and held(rider) is not None
    assert not CustodyEntry.objects.filter(swap=swap).exists()


def test_an_unknown_battery_left_in_the_slot_locks_it():
    cab, rider = world()
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    slot = swap.return_slot
    for event, serial in [("opened", None), ("closed", "ALIEN-0001"), ("opened", None),
                          ("closed", "ALIEN-0001")]:
        door(swap, slot.number, event, serial)
    swap = fresh(swap)
    assert swap.state == S.FAILED and swap.failure_code == "wrong_battery"
    assert Slot.objects.get(pk=slot.pk).locked
    assert alarms(cab, "foreign_battery").exists()


def test_walking_away_after_the_wrong_battery_leaves_it_recorded_in_the_slot():
    cab, rider = world()
    stranger = f.subscribed_rider(op=cab.operator)
    foreign = held(stranger)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    slot = swap.return_slot
    door(swap, slot.number, "opened")
    door(swap, slot.number, "closed", foreign.serial)
    door(swap, slot.number, "opened")
    tick(cab, 130)
    swap = fresh(swap)
    assert swap.state == S.FAILED and swap.failure_code == "wrong_battery"
    foreign.refresh_from_db()
    assert foreign.slot_id == slot.pk


# --- the rider walks away -------------------------------------------------------------------

def test_walking_away_before_returning_keeps_the_battery_with_the_rider():
    cab, rider = world(kind=PlanKind.PER_SWAP)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    door(swap, swap.return_slot.number, "opened")
    assert tick(cab, 100) == 0
    assert tick(cab, 125) == 1
    swap = fresh(swap)
    assert swap.state == S.FAILED and swap.failure_code == "not_returned"
    assert held(rider) is not None
    assert not Charge.objects.filter(rider=rider).exists()


def test_walking_away_after_returning_leaves_the_old_battery_in_the_slot_uncharged():
    cab, rider = world(kind=PlanKind.PER_SWAP)
    old = held(rider)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    swap = return_battery(swap, old.serial)
    door(swap, swap.release_slot.number, "opened")
    assert tick(cab, 65) == 1
    swap = fresh(swap)
    assert swap.state == S.FAILED and swap.failure_code == "not_taken"
    old.refresh_from_db()
    assert old.slot_id == swap.return_slot_id
    assert held(rider) is None
    released = swap.battery_released
    released.refresh_from_db()
    assert released.slot_id == swap.release_slot_id and released.status == BatteryStatus.FULL
    assert not Charge.objects.filter(rider=rider).exists()
    # The rider holds nothing now: scanning again is a first pickup.
    again = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    assert again.state == S.OPENING_RELEASE and again.return_slot is None


def test_closing_the_release_door_without_taking_reopens_it_once():
    cab, rider = world()
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    swap = return_battery(swap, held(rider).serial)
    new = swap.battery_released
    door(swap, swap.release_slot.number, "opened")
    door(swap, swap.release_slot.number, "closed", new.serial)
    swap = fresh(swap)
    assert swap.state == S.OPENING_RELEASE
    assert door_commands(swap).count(swap.release_slot.number) == 2
    assert take_battery(swap).state == S.COMPLETED


# --- the battery is not read ----------------------------------------------------------------

def test_an_unread_battery_gets_one_more_try():
    cab, rider = world()
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    slot = swap.return_slot.number
    door(swap, slot, "opened")
    door(swap, slot, "closed", None, unread=True)
    assert fresh(swap).state == S.OPENING_RETURN
    swap = return_battery(swap, held(rider).serial)
    assert swap.state == S.OPENING_RELEASE


def test_a_battery_unread_twice_fails_locks_the_slot_and_opens_an_inspection():
    cab, rider = world(kind=PlanKind.PER_SWAP)
    mine = held(rider)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    slot = swap.return_slot
    for _ in range(2):
        door(swap, slot.number, "opened")
        door(swap, slot.number, "closed", None, unread=True)
    swap = fresh(swap)
    assert swap.state == S.FAILED and swap.failure_code == "battery_unread"
    assert Slot.objects.get(pk=slot.pk).locked
    assert WorkOrder.objects.filter(kind=WorkOrderKind.INSPECT_SLOT, slot=slot).exists()
    mine.refresh_from_db()
    assert mine.holder_id == rider.pk  # theirs in the ledger until inspected
    assert not Charge.objects.filter(rider=rider).exists()
    assert "无法识别" in swap_view(swap)["failure"]


# --- duplicates and late messages ---------------------------------------------------------

def test_duplicate_and_late_reports_are_recorded_and_ignored():
    cab, rider = world()
    old = held(rider)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    ret = swap.return_slot.number
    # The "opened" report comes late: the "closed" one proves the door opened.
    assert door(swap, ret, "closed", old.serial)
    assert fresh(swap).state == S.OPENING_RELEASE
    assert door(swap, ret, "opened")                   # late
    assert door(swap, ret, "closed", old.serial)       # duplicate
    swap = fresh(swap)
    assert swap.state == S.OPENING_RELEASE
    assert CustodyEntry.objects.filter(swap=swap).count() == 1
    rel = swap.release_slot.number
    assert door(swap, rel, "opened")
    assert door(swap, rel, "opened")                   # duplicate
    assert door(swap, rel, "closed", None)
    assert fresh(swap).state == S.COMPLETED
    assert door(swap, rel, "closed", None) is False     # after the end: the ledger's business
    # Each ignored report is kept on the swap whose command it echoes, the last one too.
    assert actions(swap).count("energy.swap.report_ignored") == 4
    assert CustodyEntry.objects.filter(swap=swap).count() == 2


def test_a_duplicate_ack_or_an_ack_of_a_superseded_command_changes_nothing():
    cab, rider = world()
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    first = ack_last(swap, ok=False, error="door_jam")
    moved_to = fresh(swap).return_slot_id
    swaps.swap_on_command_ack(command=first, ok=False, error="door_jam", at=later(1))
    swap = fresh(swap)
    assert swap.state == S.OPENING_RETURN and swap.return_slot_id == moved_to
    ack_last(swap, ok=True)
    assert fresh(swap).state == S.OPENING_RETURN


def test_a_door_report_for_a_slot_no_swap_uses_is_left_to_reconciliation():
    cab, rider = world()
    swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    free = Slot.objects.filter(cabinet=cab, battery__isnull=True).order_by("-number").first()
    assert door(cab, free.number, "closed", None) is False


def test_a_swap_that_fails_leaves_no_battery_promised():
    cab, rider = world(full=1, charging=0)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    door(swap, swap.return_slot.number, "opened")
    tick(cab, 125)
    assert fresh(swap).state == S.FAILED
    other = f.subscribed_rider(op=cab.operator)
    assert swaps.swap_start(rider=other, cabinet_id=cab.pk).battery_released_id == \
        swap.battery_released_id
    assert Battery.objects.filter(holder=rider).exists()
    assert custody.ledger_verify() == []


# --- the clock is fair to the rider -------------------------------------------------------

def test_a_step_times_out_only_once_nothing_older_can_still_arrive():
    from tests.energy.test_swaps import DeviceMessage

    cab, rider = world()
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    door(swap, swap.return_slot.number, "opened")
    # Past the deadline, but the last thing heard from the cabinet is older than it: its
    # "door closed" may still be queued behind a backlog, so the swap waits.
    DeviceMessage.objects.create(cabinet=cab, msg_id="hb-old", seq=1, kind="heartbeat",
                                 received_at=later(60))
    assert swaps.swaps_expire_overdue(now=later(130)) == 0
    # The queued report arrives and wins.
    assert door(swap, swap.return_slot.number, "closed", held(rider).serial,
                at=later(119))
    assert fresh(swap).state == S.OPENING_RELEASE


def test_a_silent_cabinet_is_given_up_on_after_the_grace():
    cab, rider = world()
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    door(swap, swap.return_slot.number, "opened")
    assert swaps.swaps_expire_overdue(now=later(swaps.RETURN_S + 5)) == 0
    assert swaps.swaps_expire_overdue(now=later(swaps.RETURN_S + swaps.HEARD_GRACE_S + 5)) == 1
    assert fresh(swap).failure_code == "not_returned"


def test_a_door_command_lost_while_offline_goes_again_with_the_same_id(
        django_capture_on_commit_callbacks):
    from nuanxin.energy.models import CabinetCommand

    cab, rider = world()
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    swap = return_battery(swap, held(rider).serial)
    release_cmd = CabinetCommand.objects.filter(swap=swap).order_by("-id").first()
    assert release_cmd.payload["slot"] == swap.release_slot.number
    swaps.swap_on_cabinet_offline(cabinet=cab, at=later(0))
    with django_capture_on_commit_callbacks() as callbacks:
        swaps.swap_on_cabinet_online(cabinet=cab, at=later(5))
    swap = fresh(swap)
    assert swap.state == S.OPENING_RELEASE
    assert actions(swap)[-1] == "energy.swap.door_command_resent"
    assert swap.events.last().data["cmd"] == release_cmd.msg_id
    assert len(callbacks) == 1  # published once the resume commits
    # No new command row: the cabinet sees the same id and never opens the door twice.
    assert CabinetCommand.objects.filter(swap=swap).count() == 2


def test_an_acknowledged_command_is_not_sent_again_after_a_reconnect():
    cab, rider = world()
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    command = ack_last(swap, ok=True)
    type(command).objects.filter(pk=command.pk).update(acked_at=later(0), result="ok")
    swaps.swap_on_cabinet_offline(cabinet=cab, at=later(0))
    swaps.swap_on_cabinet_online(cabinet=cab, at=later(5))
    assert "energy.swap.door_command_resent" not in actions(swap)


def test_closing_the_return_door_empty_twice_ends_the_swap_explained():
    cab, rider = world()
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    slot = swap.return_slot.number
    door(swap, slot, "opened")
    door(swap, slot, "closed", None)
    assert fresh(swap).state == S.OPENING_RETURN  # opened once more
    door(swap, slot, "opened")
    door(swap, slot, "closed", None)
    swap = fresh(swap)
    assert swap.state == S.FAILED and swap.failure_code == "nothing_returned"
    assert held(rider) is not None
    assert "没有电池" in swap_view(swap)["failure"]

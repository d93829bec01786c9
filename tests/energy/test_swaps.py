"""The swap state machine, driven the way the ingester drives it: by calling the service
functions the device side calls (door events, command acks, offline/online, the clock).

After every test the custody ledger must still replay to today's rows.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from nuanxin.common.errors import ServiceError
from nuanxin.energy.models import (
    Battery,
    BatteryStatus,
    CabinetCommand,
    Charge,
    ChargeKind,
    CustodyEntry,
    DeviceMessage,
    PlanKind,
    Slot,
    Subscription,
    Swap,
    SwapState,
)
from nuanxin.energy.selectors.riders import swap_view
from nuanxin.energy.services import custody, swaps
from nuanxin.energy.services.workflows import SWAP_WORKFLOW
from tests.factories import energy as f
from tests.factories.people import WorkerFactory

pytestmark = pytest.mark.django_db
S = SwapState


@pytest.fixture(autouse=True)
def ledger_holds(request):
    yield
    if "django_db" in {m.name for m in request.node.iter_markers()}:
        assert custody.ledger_verify() == []


# --- helpers -------------------------------------------------------------------------------

def world(*, kind=PlanKind.MONTHLY, holding=True, **cabinet_kwargs):
    cab = f.cabinet(**cabinet_kwargs)
    rider = f.subscribed_rider(op=cab.operator, kind=kind, holding=holding)
    return cab, rider


def held(rider):
    return Battery.objects.filter(holder=rider).first()


def door(swap_or_cab, slot, event, serial=None, *, unread=False, at=None, cmd="latest"):
    """A door report echoing the latest command sent to that door, as a cabinet's does."""
    cab = swap_or_cab.cabinet if isinstance(swap_or_cab, Swap) else swap_or_cab
    if cmd == "latest":
        cmd = f.door_cmd(cab, slot)
    return swaps.swap_on_door_event(cabinet=cab, slot_number=slot, event=event,
                                    battery_serial=serial, unread=unread,
                                    at=at or timezone.now(), seq=None, cmd=cmd)


def ack_last(swap, *, ok=True, error=""):
    command = CabinetCommand.objects.filter(swap=swap).order_by("-id").first()
    swaps.swap_on_command_ack(command=command, ok=ok, error=error, at=timezone.now())
    return command


def fresh(swap):
    return Swap.objects.select_related("return_slot", "release_slot", "battery_returned",
                                       "battery_released").get(pk=swap.pk)


def door_commands(swap):
    return [c.payload["slot"] for c in
            CabinetCommand.objects.filter(swap=swap, command="open_door").order_by("id")]


def actions(swap):
    return list(swap.events.order_by("id").values_list("action", flat=True))


def return_battery(swap, serial):
    swap = fresh(swap)
    assert door(swap, swap.return_slot.number, "opened")
    assert door(swap, swap.return_slot.number, "closed", serial)
    return fresh(swap)


def take_battery(swap):
    swap = fresh(swap)
    assert door(swap, swap.release_slot.number, "opened")
    assert door(swap, swap.release_slot.number, "closed", None)
    return fresh(swap)


def later(seconds):
    return timezone.now() + timedelta(seconds=seconds)


def tick(cab, seconds):
    """`seconds` from now the cabinet is heard from (a heartbeat arrives) and the server's
    clock runs the step timeouts: a step times out only once the cabinet has been heard
    from after its deadline (nothing older can still be on its way)."""
    at = later(seconds)
    DeviceMessage.objects.create(cabinet_id=cab.pk, msg_id=uuid.uuid4().hex, seq=0,
                                 kind="heartbeat", received_at=at)
    return swaps.swaps_expire_overdue(now=at)


# --- the happy path ----------------------------------------------------------------------

def test_a_monthly_swap_goes_through_every_step_and_moves_both_batteries():
    cab, rider = world()
    old = held(rider)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    assert swap.state == S.OPENING_RETURN
    assert not Battery.objects.filter(slot=swap.return_slot).exists()  # an empty slot
    new = swap.battery_released
    assert new.status == BatteryStatus.FULL and new.slot_id == swap.release_slot_id
    assert door_commands(swap) == [swap.return_slot.number]

    swap = return_battery(swap, old.serial)
    assert swap.state == S.OPENING_RELEASE
    old.refresh_from_db()
    assert old.slot_id == swap.return_slot_id and old.holder_id is None
    assert old.status == BatteryStatus.CHARGING
    assert door_commands(swap) == [swap.return_slot.number, swap.release_slot.number]

    swap = take_battery(swap)
    assert swap.state == S.COMPLETED and swap.finished_at is not None
    new.refresh_from_db()
    assert new.holder_id == rider.pk and new.status == BatteryStatus.WITH_RIDER
    assert new.slot_id is None
    # Monthly plans: no charge per swap.
    assert not Charge.objects.filter(rider=rider, kind=ChargeKind.SWAP).exists()
    assert actions(swap) == [
        "energy.swap.started", "energy.swap.door_commanded",
        "energy.swap.return_door_opened", "energy.swap.battery_returned",
        "energy.swap.door_commanded", "energy.swap.release_door_opened",
        "energy.swap.completed"]
    moves = list(CustodyEntry.objects.filter(swap=swap).order_by("id")
                 .values_list("battery_id", "from_place", "to_place"))
    assert moves == [(old.pk, "rider", "slot"), (new.pk, "slot", "rider")]
    view = swap_view(swap)
    assert view["state"] == "completed" and all(s["status"] == "done" for s in view["steps"])
    assert view["battery_released"]["serial"] == new.serial
    assert view["battery_released"]["soh_pct"] == 100.0


def test_a_per_swap_plan_charges_a_completed_swap_exactly_once():
    cab, rider = world(kind=PlanKind.PER_SWAP)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    swap = return_battery(swap, held(rider).serial)
    swap = take_battery(swap)
    assert swap.state == S.COMPLETED
    charges = Charge.objects.filter(rider=rider)
    assert list(charges.values_list("kind", "amount_fen", "swap_id")) == [
        ("swap", 600, swap.pk)]
    # The same "door closed" delivered again: no open swap uses it any more, nothing more
    # is charged, and reconciling it changes nothing.
    assert door(swap, swap.release_slot.number, "closed", None) is False
    assert custody.slot_reconcile(cabinet=cab, slot_number=swap.release_slot.number,
                                  battery_serial=None, unread=False, at=timezone.now(),
                                  source="door") == []
    from nuanxin.energy.services import plans

    assert plans.swap_charge(swap=fresh(swap)).pk == charges.get().pk
    assert charges.count() == 1


def test_a_first_pickup_skips_the_return_steps():
    cab, rider = world(kind=PlanKind.PER_SWAP, holding=False)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    assert swap.state == S.OPENING_RELEASE and swap.return_slot is None
    assert [s["code"] for s in swap_view(swap)["steps"]] == ["opening_release", "taking"]
    swap = take_battery(swap)
    assert swap.state == S.COMPLETED
    assert held(rider).pk == swap.battery_released_id
    assert Charge.objects.filter(swap=swap).count() == 1


def test_the_scanned_code_starts_the_swap_and_a_forged_one_is_refused():
    from nuanxin.energy import qr

    cab, rider = world()
    with pytest.raises(ServiceError) as err:
        swaps.swap_start(rider=rider, cabinet_token=qr.cabinet_token(cab.pk) + "x")
    assert err.value.code == "qr_invalid"
    swap = swaps.swap_start(rider=rider, cabinet_token=qr.cabinet_token(cab.pk))
    assert swap.cabinet_id == cab.pk


# --- refusals ----------------------------------------------------------------------------

def _refused(code, rider, cab):
    before = Swap.objects.count(), CabinetCommand.objects.count()
    with pytest.raises(ServiceError) as err:
        swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    assert err.value.code == code
    assert 400 <= err.value.status < 500
    assert str(err.value.message)
    assert (Swap.objects.count(), CabinetCommand.objects.count()) == before


def test_a_rider_without_a_plan_is_refused():
    cab = f.cabinet()
    _refused("no_plan", WorkerFactory(), cab)


def test_an_expired_monthly_plan_is_refused():
    cab, rider = world()
    Subscription.objects.filter(rider=rider).update(paid_until=later(-60))
    _refused("plan_expired", rider, cab)


def test_a_battery_of_another_model_is_refused():
    cab, rider = world()
    other = f.battery_model("60V30AH-NMC")
    Battery.objects.filter(holder=rider).update(model=other)
    _refused("wrong_model", rider, cab)


def test_a_cabinet_without_the_plans_model_is_refused():
    cab = f.cabinet(model=f.battery_model("60V30AH-NMC"))
    rider = f.subscribed_rider(op=cab.operator)
    _refused("model_not_offered", rider, cab)


def test_another_operators_plan_is_refused():
    cab = f.cabinet()
    rider = f.subscribed_rider(op=f.operator())
    _refused("plan_not_valid_here", rider, cab)


def test_a_second_open_swap_is_refused():
    cab, rider = world()
    first = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    with pytest.raises(ServiceError) as err:
        swaps.swap_start(rider=rider, cabinet_id=f.cabinet(op=cab.operator).pk)
    assert err.value.code == "swap_open" and err.value.details["swap_id"] == first.pk


@pytest.mark.parametrize("fields, code", [
    ({"online": False}, "cabinet_offline"),
    ({"safety_locked": True}, "cabinet_safety_locked"),
    ({"enabled": False}, "cabinet_disabled"),
])
def test_an_unusable_cabinet_is_refused(fields, code):
    cab, rider = world()
    type(cab).objects.filter(pk=cab.pk).update(**fields)
    _refused(code, rider, cab)


def test_no_full_battery_is_a_clear_refusal():
    cab, rider = world(full=0, charging=3)
    _refused("no_battery", rider, cab)


def test_locked_or_quarantined_batteries_are_not_offered():
    cab, rider = world(full=2, charging=0)
    first, second = Battery.objects.filter(slot__cabinet=cab).order_by("slot__number")
    Slot.objects.filter(pk=first.slot_id).update(locked=True)
    custody.battery_move(battery=second, to_place="slot", to_slot=second.slot,
                         to_status=BatteryStatus.QUARANTINED, action="energy.battery.quarantined")
    _refused("no_battery", rider, cab)


def test_no_empty_slot_is_a_clear_refusal():
    cab, rider = world(slots=4, full=4, charging=0)
    _refused("no_empty_slot", rider, cab)


def test_only_workers_swap():
    cab = f.cabinet()
    _refused("workers_only", f.operator_user(cab.operator), cab)


def test_an_unknown_cabinet_is_not_found():
    _cab, rider = world()
    with pytest.raises(ServiceError) as err:
        swaps.swap_start(rider=rider, cabinet_id=999_999)
    assert err.value.code == "cabinet_not_found" and err.value.status == 404


# --- retries and two riders ----------------------------------------------------------------

def test_a_retried_start_with_the_same_key_returns_the_same_swap():
    cab, rider = world()
    first = swaps.swap_start(rider=rider, cabinet_id=cab.pk, request_key="k-1")
    again = swaps.swap_start(rider=rider, cabinet_id=cab.pk, request_key="k-1")
    assert again.pk == first.pk
    assert Swap.objects.filter(rider=rider).count() == 1
    assert CabinetCommand.objects.filter(swap=first).count() == 1


def test_two_riders_at_one_cabinet_get_different_slots_and_batteries():
    cab, rider_a = world(full=2, charging=0)
    rider_b = f.subscribed_rider(op=cab.operator)
    a = swaps.swap_start(rider=rider_a, cabinet_id=cab.pk)
    b = swaps.swap_start(rider=rider_b, cabinet_id=cab.pk)
    assert a.battery_released_id != b.battery_released_id
    assert len({a.return_slot_id, a.release_slot_id, b.return_slot_id, b.release_slot_id}) == 4
    rider_c = f.subscribed_rider(op=cab.operator)
    _refused("no_battery", rider_c, cab)


# --- reservations ------------------------------------------------------------------------

def test_a_reservation_holds_a_battery_that_others_cannot_take_and_the_rider_takes_it_over():
    cab, rider = world(full=1, charging=0)
    reservation = swaps.swap_reserve(rider=rider, cabinet_id=cab.pk)
    assert reservation.state == S.RESERVED
    assert reservation.deadline > later(9 * 60)
    other = f.subscribed_rider(op=cab.operator)
    _refused("no_battery", other, cab)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    assert swap.pk == reservation.pk
    assert swap.state == S.OPENING_RETURN
    assert swap.battery_released_id == reservation.battery_released_id


def test_the_return_door_command_names_the_battery_the_rider_brings():
    cab, rider = world()
    old = held(rider)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    first = CabinetCommand.objects.get(swap=swap)
    assert first.payload == {"slot": swap.return_slot.number, "swap": swap.pk,
                             "battery": old.serial}
    swap = return_battery(swap, old.serial)
    release = CabinetCommand.objects.filter(swap=swap).latest("id")
    assert release.payload == {"slot": swap.release_slot.number, "swap": swap.pk}


def test_a_reservation_also_holds_an_empty_slot_for_the_flat_battery():
    cab, rider = world(slots=3, full=2, charging=0)
    reservation = swaps.swap_reserve(rider=rider, cabinet_id=cab.pk)
    assert reservation.return_slot is not None
    # Someone scanning meanwhile takes the other full battery, but not the only empty slot.
    other = f.subscribed_rider(op=cab.operator)
    _refused("no_empty_slot", other, cab)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    assert swap.pk == reservation.pk and swap.state == S.OPENING_RETURN
    assert swap.return_slot_id == reservation.return_slot_id
    assert door_commands(swap) == [reservation.return_slot.number]


def test_a_reservation_needs_an_empty_slot_only_for_a_rider_holding_a_battery():
    cab, rider = world(slots=2, full=2, charging=0)
    with pytest.raises(ServiceError) as refused:
        swaps.swap_reserve(rider=rider, cabinet_id=cab.pk)
    assert refused.value.code == "no_empty_slot"
    newcomer = f.subscribed_rider(op=cab.operator, holding=False)
    reservation = swaps.swap_reserve(rider=newcomer, cabinet_id=cab.pk)
    assert reservation.return_slot is None


def test_an_unused_reservation_expires_and_frees_the_battery():
    cab, rider = world(full=1, charging=0)
    reservation = swaps.swap_reserve(rider=rider, cabinet_id=cab.pk)
    assert swaps.swaps_expire_overdue(now=later(5 * 60)) == 0
    assert swaps.swaps_expire_overdue(now=later(11 * 60)) == 1
    assert fresh(reservation).state == S.EXPIRED
    other = f.subscribed_rider(op=cab.operator)
    assert swaps.swap_start(rider=other, cabinet_id=cab.pk).battery_released_id == \
        reservation.battery_released_id


def test_a_reservation_elsewhere_blocks_a_start_until_cancelled():
    cab, rider = world()
    elsewhere = f.cabinet(op=cab.operator)
    reservation = swaps.swap_reserve(rider=rider, cabinet_id=elsewhere.pk)
    _refused("reserved_elsewhere", rider, cab)
    swaps.swap_cancel(rider=rider, swap_id=reservation.pk)
    assert swaps.swap_start(rider=rider, cabinet_id=cab.pk).state == S.OPENING_RETURN


# --- cancelling ------------------------------------------------------------------------------

def test_a_rider_can_cancel_before_the_battery_is_in_but_not_after():
    cab, rider = world()
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    assert swaps.swap_cancel(rider=rider, swap_id=swap.pk).state == S.CANCELLED
    assert held(rider) is not None

    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    swap = return_battery(swap, held(rider).serial)
    with pytest.raises(ServiceError) as err:
        swaps.swap_cancel(rider=rider, swap_id=swap.pk)
    assert err.value.code == "swap_cancel_too_late" and err.value.status == 409


def test_someone_elses_swap_cannot_be_cancelled():
    cab, rider = world()
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    with pytest.raises(ServiceError) as err:
        swaps.swap_cancel(rider=f.subscribed_rider(op=cab.operator), swap_id=swap.pk)
    assert err.value.status == 404


def test_the_table_refuses_a_step_it_does_not_allow():
    cab, rider = world()
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    swaps.swap_cancel(rider=rider, swap_id=swap.pk)
    with pytest.raises(ServiceError) as err:
        swaps.swap_cancel(rider=rider, swap_id=swap.pk)
    assert err.value.code == "invalid_transition" and err.value.status == 409
    assert err.value.details == {"state": "cancelled", "action": "cancel", "allowed": []}
    assert SWAP_WORKFLOW.transitions["complete"].sources == {S.TAKING}

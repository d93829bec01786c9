"""common.seats: take, release, waitlist promoted in order, idempotent by key, no overbooking."""

from __future__ import annotations

import pytest
from django.db import transaction

from nuanxin.common.errors import ServiceError
from nuanxin.common.seats import Seats, SeatStatus
from tests.common.kit_models import Booking, Room
from tests.common.threads import all_at_once, in_thread, needs_postgresql

pytestmark = pytest.mark.django_db

SEATS = Seats(pool_model=Room, holding_model=Booking)


def take(room, key, quantity=1, **kw):
    with transaction.atomic():
        return SEATS.take(room.pk, key=key, quantity=quantity, **kw)


def release(room, key):
    with transaction.atomic():
        return SEATS.release(room.pk, key=key)


def statuses(room):
    return {b.key: (b.status, b.quantity) for b in Booking.objects.filter(room=room)}


def test_take_until_full_then_refuse_with_what_remains():
    room = Room.objects.create(name="夜校", capacity=3)
    take(room, "a", 2)
    with pytest.raises(ServiceError) as refused:
        take(room, "b", 2)
    assert (refused.value.code, refused.value.status) == ("capacity_exceeded", 409)
    assert refused.value.details == {"remaining": 1}
    assert refused.value.as_dict()["message_en"] == "Only 1 places left."
    take(room, "b", 1)
    assert SEATS.remaining(room) == 0 and statuses(room) == {"a": ("held", 2), "b": ("held", 1)}


def test_the_same_key_again_is_the_same_seat_and_a_new_quantity_resizes_it():
    room = Room.objects.create(name="r", capacity=5)
    first = take(room, "rider-1", 2)
    assert take(room, "rider-1", 2).pk == first.pk and SEATS.held(room) == 2
    take(room, "rider-1", 5)  # its own 2 do not count against it
    assert SEATS.held(room) == 5
    with pytest.raises(ServiceError):
        take(room, "rider-1", 6)
    assert statuses(room) == {"rider-1": ("held", 5)}


def test_a_full_room_puts_people_on_the_waitlist_and_release_promotes_in_order():
    room = Room.objects.create(name="r", capacity=2)
    take(room, "a")
    take(room, "b")
    take(room, "c", waitlist=True)
    take(room, "d", waitlist=True)
    assert statuses(room)["c"] == ("waiting", 1)
    promoted = release(room, "a")
    assert [h.key for h in promoted] == ["c"] and promoted[0].promoted_at is not None
    assert statuses(room) == {"b": ("held", 1), "c": ("held", 1), "d": ("waiting", 1)}
    assert release(room, "a") == []  # releasing again changes nothing


def test_nobody_overtakes_the_waitlist():
    room = Room.objects.create(name="r", capacity=3)
    take(room, "a", 2)
    take(room, "big", 2, waitlist=True)
    # one place is free, but "big" was first: a newcomer waits behind it
    take(room, "small", 1, waitlist=True)
    assert statuses(room)["small"] == ("waiting", 1)
    assert [h.key for h in release(room, "a")] == ["big", "small"]


def test_growing_the_capacity_promotes_who_waits():
    room = Room.objects.create(name="r", capacity=1)
    take(room, "a")
    take(room, "b", waitlist=True)
    Room.objects.filter(pk=room.pk).update(capacity=2)
    with transaction.atomic():
        assert [h.key for h in SEATS.promote(room.pk)] == ["b"]


def test_capacity_cannot_drop_below_what_is_held():
    room = Room.objects.create(name="r", capacity=4)
    take(room, "a", 3)
    with transaction.atomic(), pytest.raises(ServiceError) as refused:
        SEATS.check_capacity(SEATS.lock(room.pk), 2)
    assert refused.value.code == "capacity_below_held" and refused.value.details == {"held": 3}


@pytest.mark.parametrize("quantity", [0, -1, True, 1.5])
def test_a_quantity_must_be_a_positive_integer(quantity):
    room = Room.objects.create(name="r", capacity=4)
    with pytest.raises(ServiceError) as refused:
        take(room, "a", quantity)
    assert refused.value.code == "invalid_quantity" and not Booking.objects.exists()


def test_an_unknown_pool_is_not_found():
    with pytest.raises(ServiceError) as refused:
        take(Room(pk=999_999), "a")
    assert (refused.value.code, refused.value.status) == ("pool_not_found", 404)


def _race_room(capacity):
    return in_thread(lambda: Room.objects.create(name="race", capacity=capacity).pk)


def test_simultaneous_takes_never_overbook():
    needs_postgresql()
    room_id = _race_room(3)
    try:
        def attempt(i):
            def run():
                try:
                    take(Room(pk=room_id), f"rider-{i}", waitlist=i % 2 == 0)
                    return "ok"
                except ServiceError as exc:
                    return exc.code
            return run

        outcomes = all_at_once([attempt(i) for i in range(8)])
        assert outcomes.count("ok") == 8 - outcomes.count("capacity_exceeded"), outcomes
        rows = in_thread(lambda: list(Booking.objects.filter(room_id=room_id)
                                      .values_list("status", flat=True)))
        assert rows.count(SeatStatus.HELD) == 3, rows
        assert len(rows) == outcomes.count("ok")
    finally:
        in_thread(lambda: Room.objects.filter(pk=room_id).delete())


def test_simultaneous_releases_promote_each_waiting_person_once():
    needs_postgresql()
    room_id = _race_room(3)
    try:
        room = Room(pk=room_id)
        in_thread(lambda: [take(room, k) for k in ("a", "b", "c")])
        in_thread(lambda: [take(room, k, waitlist=True) for k in ("w1", "w2", "w3", "w4")])
        results = all_at_once([lambda k=k: release(room, k) for k in ("a", "b", "c")])
        promoted = [h.key for r in results for h in r]
        assert sorted(promoted) == ["w1", "w2", "w3"], results
        assert in_thread(lambda: statuses(room)) == {
            "w1": ("held", 1), "w2": ("held", 1), "w3": ("held", 1), "w4": ("waiting", 1)}
    finally:
        in_thread(lambda: Room.objects.filter(pk=room_id).delete())


def test_simultaneous_takes_with_one_key_hold_one_seat():
    needs_postgresql()
    room_id = _race_room(5)
    try:
        results = all_at_once([lambda: take(Room(pk=room_id), "same").pk] * 5)
        assert len(set(results)) == 1, results
        assert in_thread(lambda: Booking.objects.filter(room_id=room_id).count()) == 1
    finally:
        in_thread(lambda: Room.objects.filter(pk=room_id).delete())

"""A late door report is applied to the swap whose command it answers, and to no other
(issue 8, item 1), scripted message by message through the ingester's own entry point.

Rider A starts a swap (return slot R, command c1); the cabinet acknowledges c1 but its
"opened" comes late; A cancels; rider B starts. B must not be given R while c1's door may
still open, and the late opened(cmd=c1) / closed(cmd=c1) must not move B's swap. A's
battery, put in through that door, is in R in the ledger; `energy verify` compares the
ledger with what the cabinets last reported.
"""

from __future__ import annotations

import itertools
import json
import uuid

import pytest
from django.utils import timezone

from nuanxin.energy.models import (
    Battery,
    BatteryStatus,
    CabinetCommand,
    Place,
    Slot,
    Swap,
    SwapState,
)
from nuanxin.energy.protocol import up_topic
from nuanxin.energy.services import custody, device, swaps
from tests.factories import energy as f

pytestmark = pytest.mark.django_db
S = SwapState


class ScriptedCabinet:
    """Says exactly what the test tells it to, in order, through `device.ingest_batch`."""

    def __init__(self, cabinet) -> None:
        self.cabinet = cabinet
        self._seq = itertools.count(1)

    def say(self, kind: str, **fields) -> None:
        now = timezone.now()
        body = {"id": uuid.uuid4().hex, "seq": next(self._seq),
                "ts": int(now.timestamp() * 1000), "serial": self.cabinet.serial, **fields}
        stats = device.IngestStats()
        device.ingest_batch([device.Incoming(up_topic(self.cabinet.serial, kind),
                                             json.dumps(body).encode(), now)],
                            stats=stats, directory=device.CabinetDirectory())
        assert stats.rejected == {}, stats.rejected

    def snapshot(self) -> None:
        """Every slot as the ledger has it (what a cabinet in agreement would report)."""
        for slot in Slot.objects.filter(cabinet=self.cabinet).order_by("number"):
            battery = Battery.objects.filter(slot=slot).values_list("serial", flat=True).first()
            self.say("slot", slot=slot.number, door="closed", enabled=True, charging=False,
                     battery=battery)


def _command(swap: Swap) -> CabinetCommand:
    return CabinetCommand.objects.filter(swap=swap, command="open_door").latest("id")


def _world(empty_slots: int):
    cab = f.cabinet(slots=6 + empty_slots, full=6, charging=0)
    a = f.subscribed_rider(op=cab.operator)
    b = f.subscribed_rider(op=cab.operator)
    return cab, a, b


def test_a_late_door_report_moves_only_the_swap_of_its_command():
    cab, rider_a, rider_b = _world(empty_slots=2)
    dev = ScriptedCabinet(cab)
    dev.snapshot()
    battery_a = Battery.objects.get(holder=rider_a)
    battery_b = Battery.objects.get(holder=rider_b)

    swap_a = swaps.swap_start(rider=rider_a, cabinet_id=cab.pk)
    slot_r = swap_a.return_slot.number
    c1 = _command(swap_a)
    dev.say("ack", cmd=c1.msg_id, result="ok")          # the cabinet has opened the door...
    swaps.swap_cancel(rider=rider_a, swap_id=swap_a.pk)  # ...but A only hears of it later

    swap_b = swaps.swap_start(rider=rider_b, cabinet_id=cab.pk)
    assert swap_b.return_slot.number != slot_r           # R's door may still be open
    c2 = _command(swap_b)

    dev.say("door", slot=slot_r, event="opened", cmd=c1.msg_id)   # late
    swap_b.refresh_from_db()
    assert swap_b.state == S.OPENING_RETURN
    # A, still at the cabinet, puts their battery in through the door that opened for them.
    dev.say("door", slot=slot_r, event="closed", cmd=c1.msg_id, battery=battery_a.serial)
    swap_a.refresh_from_db()
    swap_b.refresh_from_db()
    assert swap_a.state == S.CANCELLED and swap_b.state == S.OPENING_RETURN
    assert swap_b.failure_code == ""
    assert "energy.swap.report_ignored" in swap_a.events.values_list("action", flat=True)
    battery_a.refresh_from_db()
    assert battery_a.holder_id is None and battery_a.slot.number == slot_r
    assert custody.ledger_verify() == []

    # B's own door works as always, and B's battery stays B's until it is in.
    dev.say("ack", cmd=c2.msg_id, result="ok")
    dev.say("door", slot=swap_b.return_slot.number, event="opened", cmd=c2.msg_id)
    battery_b.refresh_from_db()
    assert battery_b.holder_id == rider_b.pk
    dev.say("door", slot=swap_b.return_slot.number, event="closed", cmd=c2.msg_id,
            battery=battery_b.serial)
    swap_b.refresh_from_db()
    assert swap_b.state == S.OPENING_RELEASE
    assert Battery.objects.get(pk=battery_b.pk).slot_id == swap_b.return_slot_id
    assert custody.ledger_verify() == []


def test_a_cancelled_door_stays_held_until_the_cabinet_reports_it_closed():
    cab, rider_a, rider_b = _world(empty_slots=1)
    dev = ScriptedCabinet(cab)
    swap_a = swaps.swap_start(rider=rider_a, cabinet_id=cab.pk)
    c1 = _command(swap_a)
    dev.say("ack", cmd=c1.msg_id, result="ok")
    swaps.swap_cancel(rider=rider_a, swap_id=swap_a.pk)

    # The only empty slot's door was commanded open: nobody is given it meanwhile.
    with pytest.raises(swaps.ServiceError) as refused:
        swaps.swap_start(rider=rider_b, cabinet_id=cab.pk)
    assert refused.value.code == "no_empty_slot"

    # A door closing that answers another command does not free it either.
    dev.say("door", slot=swap_a.return_slot.number, event="closed", cmd="some-other-command")
    assert Slot.objects.get(pk=swap_a.return_slot_id).door_command_id == c1.pk

    dev.say("door", slot=swap_a.return_slot.number, event="opened", cmd=c1.msg_id)
    dev.say("door", slot=swap_a.return_slot.number, event="closed", cmd=c1.msg_id)
    swap_b = swaps.swap_start(rider=rider_b, cabinet_id=cab.pk)
    assert swap_b.return_slot_id == swap_a.return_slot_id
    assert custody.ledger_verify() == []


def test_a_snapshot_after_the_ack_proves_the_door_shut():
    cab, rider_a, _ = _world(empty_slots=1)
    dev = ScriptedCabinet(cab)
    swap_a = swaps.swap_start(rider=rider_a, cabinet_id=cab.pk)
    c1 = _command(swap_a)
    slot = swap_a.return_slot
    swaps.swap_cancel(rider=rider_a, swap_id=swap_a.pk)
    # Before the cabinet has carried the command out, a "closed" snapshot proves nothing.
    dev.say("slot", slot=slot.number, door="closed", enabled=True, charging=False)
    assert Slot.objects.get(pk=slot.pk).door_command_id == c1.pk
    dev.say("ack", cmd=c1.msg_id, result="ok")
    dev.say("slot", slot=slot.number, door="closed", enabled=True, charging=False)
    assert Slot.objects.get(pk=slot.pk).door_command_id is None


def test_a_refused_door_command_releases_the_hold():
    cab, rider_a, _ = _world(empty_slots=2)
    dev = ScriptedCabinet(cab)
    swap_a = swaps.swap_start(rider=rider_a, cabinet_id=cab.pk)
    first = swap_a.return_slot
    dev.say("ack", cmd=_command(swap_a).msg_id, result="error", error="door_jam")
    assert Slot.objects.get(pk=first.pk).door_command_id is None
    assert Slot.objects.get(pk=first.pk).locked  # the jam locks it instead


def test_verify_reports_where_the_ledger_and_the_cabinet_disagree():
    cab, _, _ = _world(empty_slots=2)
    dev = ScriptedCabinet(cab)
    dev.snapshot()
    assert custody.ledger_verify() == []
    # The ledger says a battery went to the depot; the cabinet still reports it in slot 1.
    taken = Battery.objects.get(slot__cabinet=cab, slot__number=1)
    custody.battery_move(battery=taken, to_place=Place.DEPOT,
                         to_status=BatteryStatus.MAINTENANCE, action="test.taken_away")
    # And the cabinet reports something in slot 8 that the ledger has nowhere near it.
    Slot.objects.filter(cabinet=cab, number=8).update(reported_battery="NOT-OURS-1")
    problems = custody.ledger_verify()
    assert any(f"{cab.serial}#1" in p and taken.serial in p for p in problems), problems
    assert any(f"{cab.serial}#8" in p and "NOT-OURS-1" in p for p in problems), problems
    assert len(problems) == 2


def test_verify_leaves_a_foreign_battery_to_its_open_inspection_and_reports_it_after():
    from nuanxin.energy.models import WorkOrder, WorkOrderKind, WorkOrderState

    cab, _, _ = _world(empty_slots=2)
    dev = ScriptedCabinet(cab)
    dev.snapshot()
    slot = Slot.objects.get(cabinet=cab, number=8)
    assert not Battery.objects.filter(slot=slot).exists()
    # A rider left a battery that is not one of ours; a person is sent to look.
    Slot.objects.filter(pk=slot.pk).update(reported_battery="ALIEN-1")
    order = WorkOrder.objects.create(kind=WorkOrderKind.INSPECT_SLOT, operator=cab.operator,
                                     cabinet=cab, slot=slot)
    assert custody.ledger_verify() == []
    # The inspection is closed but the cabinet still reports the stranger: say so.
    WorkOrder.objects.filter(pk=order.pk).update(state=WorkOrderState.DONE)
    problems = custody.ledger_verify()
    assert len(problems) == 1 and "ALIEN-1" in problems[0] and f"{cab.serial}#8" in problems[0]


def test_a_door_command_never_answered_stops_holding_once_the_cabinet_talks_on():
    from datetime import timedelta

    from nuanxin.energy.models import DeviceMessage
    from nuanxin.energy.services import commands

    cab, rider_a, _ = _world(empty_slots=1)
    swap_a = swaps.swap_start(rider=rider_a, cabinet_id=cab.pk)
    c1 = _command(swap_a)
    swaps.swap_cancel(rider=rider_a, swap_id=swap_a.pk)
    later = timezone.now() + timedelta(seconds=commands.HOLD_UNACKED_S + 60)
    # The cabinet has said nothing since: the command may still be on its way to it.
    assert commands.door_holds_expire(now=later) == 0
    assert Slot.objects.get(pk=swap_a.return_slot_id).door_command_id == c1.pk
    # It kept talking for two minutes and never answered: the command never reached it.
    DeviceMessage.objects.create(cabinet=cab, msg_id=uuid.uuid4().hex, seq=1,
                                 kind="heartbeat", received_at=later)
    assert commands.door_holds_expire(now=later) == 1
    assert Slot.objects.get(pk=swap_a.return_slot_id).door_command_id is None

"""Commands down to a cabinet: published after commit to its own topic, acks recorded."""

from __future__ import annotations

import json
import queue
import time
import uuid

import pytest
from django.db import transaction

from nuanxin.common.errors import ServiceError
from nuanxin.energy import mqtt
from nuanxin.energy.models import CabinetCommand, IngestRejection
from nuanxin.energy.mqtt import mqtt_client
from nuanxin.energy.services.commands import command_send, next_seq
from tests.energy.test_ingest import FakeCabinet, cabinets, ingest  # noqa: F401 (fixtures)
from tests.factories import energy as f

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def listen():
    """listen(serial) -> queue of (topic, payload dict) the cabinet receives on its down."""
    clients = []

    def make(serial: str) -> queue.Queue:
        received: queue.Queue = queue.Queue()
        client = mqtt_client(f"test-down-{uuid.uuid4().hex[:8]}")
        client.on_message = lambda c, u, m: received.put((m.topic, m.qos, json.loads(m.payload)))
        client.subscribe(f"cab/{serial}/down/#", qos=1)
        client.loop_start()
        clients.append(client)
        time.sleep(0.2)  # the SUBACK
        return received

    yield make
    for client in clients:
        client.disconnect()
        client.loop_stop()


def test_a_command_reaches_the_cabinet_after_commit(regions, listen):
    cab = f.cabinet(full=0, charging=0)
    received = listen(cab.serial)
    with transaction.atomic():
        command = command_send(cabinet=cab, kind="open_door", payload={"slot": 3})
        assert received.empty()  # nothing leaves before the commit
        assert command.sent_at is None
    topic, qos, body = received.get(timeout=5)
    assert topic == f"cab/{cab.serial}/down/open_door"
    assert qos == 1
    assert body["id"] == command.msg_id
    assert body["serial"] == cab.serial
    assert body["slot"] == 3
    assert body["seq"] > 0 and body["ts"] > 1_700_000_000_000
    command.refresh_from_db()
    assert command.sent_at is not None and command.acked_at is None
    assert command.command == "open_door" and command.payload == {"slot": 3}


def test_a_rolled_back_command_is_never_sent(regions, listen):
    cab = f.cabinet(full=0, charging=0)
    received = listen(cab.serial)
    with pytest.raises(RuntimeError), transaction.atomic():
        command_send(cabinet=cab, kind="open_door", payload={"slot": 1})
        raise RuntimeError("the swap failed after all")
    with pytest.raises(queue.Empty):
        received.get(timeout=1)
    assert not CabinetCommand.objects.exists()


def test_commands_carry_increasing_seq(regions, listen):
    cab = f.cabinet(full=0, charging=0)
    received = listen(cab.serial)
    for slot in (1, 2, 3):
        command_send(cabinet=cab, kind="charging", payload={"slot": slot, "on": False})
    seqs = [received.get(timeout=5)[2]["seq"] for _ in range(3)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert next_seq() > seqs[-1]


@pytest.mark.parametrize("kind,payload,code", [
    ("explode", {}, "command_unknown"),
    ("open_door", {}, "command_incomplete"),
    ("slot", {"slot": 2}, "command_incomplete"),
    ("threshold", {"full_pct": 95, "serial": "X"}, "command_incomplete"),
])
def test_bad_commands_are_refused(regions, kind, payload, code):
    cab = f.cabinet(full=0, charging=0)
    with pytest.raises(ServiceError) as exc:
        command_send(cabinet=cab, kind=kind, payload=payload)
    assert exc.value.code == code
    assert not CabinetCommand.objects.exists()


def test_the_cabinets_ack_is_recorded(regions, listen, ingest, cabinets):  # noqa: F811
    cab = f.cabinet(full=0, charging=0)
    received = listen(cab.serial)
    ingester = ingest(cab.serial)
    dev = cabinets(cab.serial)
    ok_cmd = command_send(cabinet=cab, kind="threshold", payload={"full_pct": 90})
    jam_cmd = command_send(cabinet=cab, kind="open_door", payload={"slot": 5})
    ids = {received.get(timeout=5)[2]["id"] for _ in range(2)}
    assert ids == {ok_cmd.msg_id, jam_cmd.msg_id}
    dev.send("ack", cmd=ok_cmd.msg_id, result="ok")
    dev.send("ack", cmd=jam_cmd.msg_id, result="error", error="door_jam")
    assert ingester.wait_idle(10)
    ok_cmd.refresh_from_db()
    jam_cmd.refresh_from_db()
    assert ok_cmd.result == "ok" and ok_cmd.acked_at >= ok_cmd.sent_at
    assert jam_cmd.result == "door_jam" and jam_cmd.acked_at is not None
    first_ack = ok_cmd.acked_at
    # A second ack (a new id: the cabinet retried) changes nothing; an ack of a command we
    # never sent is ignored.
    dev.send("ack", cmd=ok_cmd.msg_id, result="error", error="busy")
    dev.send("ack", cmd="f" * 32, result="ok")
    assert ingester.wait_idle(10)
    ok_cmd.refresh_from_db()
    assert ok_cmd.result == "ok" and ok_cmd.acked_at == first_ack
    assert not IngestRejection.objects.exists()


def test_the_publisher_reconnects(regions, listen):
    cab = f.cabinet(full=0, charging=0)
    received = listen(cab.serial)
    command_send(cabinet=cab, kind="cabinet", payload={"enabled": False})
    received.get(timeout=5)
    mqtt.publisher_reset()  # as after a broker restart or a fork
    command_send(cabinet=cab, kind="cabinet", payload={"enabled": True})
    assert received.get(timeout=5)[2]["enabled"] is True
    assert CabinetCommand.objects.filter(sent_at__isnull=False).count() == 2

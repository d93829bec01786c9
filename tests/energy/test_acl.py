"""The shipped broker configuration (deploy/mosquitto/) really keeps cabinets apart.

Starts a private Mosquitto from the shipped nuanxin.conf and acl (only the paths and the
port changed), with a password file written by `nuanxin energy credentials`, and tries
what a rogue or misconfigured cabinet would.
"""

from __future__ import annotations

import io
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from nuanxin.energy.credentials import (
    cabinet_password,
    server_credentials,
)
from nuanxin.energy.credentials import (
    main as credentials_main,
)
from nuanxin.energy.ingest import Ingester
from nuanxin.energy.models import IngestRejection
from nuanxin.energy.mqtt import mqtt_client
from tests.factories import energy as f

pytestmark = pytest.mark.django_db(transaction=True)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shipped_conf(tmp: Path, port: int) -> Path:
    """The shipped nuanxin.conf with this test's paths and port, nothing else changed."""
    text = (DEPLOY / "nuanxin.conf").read_text()
    replacements = {
        r"^password_file .*$": f"password_file {tmp / 'passwd'}",
        r"^acl_file .*$": f"acl_file {tmp / 'acl'}",
        r"^listener 1883$": f"listener {port} 127.0.0.1",
        r"^persistence true$": "persistence false",
        r"^persistence_location .*$": "",
    }
    for pattern, new in replacements.items():
        text, n = re.subn(pattern, new, text, flags=re.M)
        assert n == 1, f"the shipped nuanxin.conf no longer has {pattern}"
    if os.geteuid() == 0:
        text += "\nuser root\n"  # a root test run: don't drop to a user who can't read tmp
    text += f"\nlog_dest file {tmp / 'mosquitto.log'}\n"
    conf = tmp / "mosquitto.conf"
    conf.write_text(text)
    shutil.copy(DEPLOY / "acl", tmp / "acl")
    return conf


@pytest.fixture
def broker(regions, tmp_path):
    """A private Mosquitto with the shipped config; two cabinets with credentials."""
    cab_a = f.cabinet(full=1, charging=0, slots=4)
    cab_b = f.cabinet(full=0, charging=0, slots=4)
    out = io.StringIO()
    credentials_main(stdout=out, passwd_file=str(tmp_path / "passwd"))
    assert "wrote" in out.getvalue()
    passwd = (tmp_path / "passwd").read_text()
    # Hashed, never the plain password.
    assert f"{cab_a.serial}:$" in passwd and cabinet_password(cab_a.serial) not in passwd
    port = free_port()
    conf = shipped_conf(tmp_path, port)
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.PIPE,  # noqa: S603
                            stderr=subprocess.STDOUT)
    url = f"mqtt://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (tmp_path / "mosquitto.log")
                pytest.fail(f"mosquitto did not start: "
                            f"{log.read_text() if log.exists() else proc.stdout.read()}")
            time.sleep(0.05)
    clients: list[paho.Client] = []

    def connect(username: str, password: str) -> paho.Client:
        client = mqtt_client(f"acl-{uuid.uuid4().hex[:8]}", url=url, username=username,
                             password=password)
        client.loop_start()
        clients.append(client)
        return client

    yield {"url": url, "a": cab_a, "b": cab_b, "connect": connect}
    for client in clients:
        client.disconnect()
        client.loop_stop()
    proc.terminate()
    proc.wait(10)


def subscriber(client: paho.Client, topic: str) -> tuple[queue.Queue, list]:
    received: queue.Queue = queue.Queue()
    granted: list = []
    done = queue.Queue()
    client.on_message = lambda c, u, m: received.put((m.topic, m.payload))
    client.on_subscribe = lambda c, u, mid, codes, props: (granted.extend(codes), done.put(1))
    client.subscribe(topic, qos=1)
    done.get(timeout=5)
    return received, granted


def publish(client: paho.Client, topic: str, body: dict | bytes) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    client.publish(topic, raw, qos=1).wait_for_publish(5)


def drain(received: queue.Queue, until_topic: str) -> list[str]:
    """Topics received up to (and including) the sentinel `until_topic`."""
    topics = []
    while True:
        topic, _ = received.get(timeout=5)
        topics.append(topic)
        if topic == until_topic:
            return topics


def test_a_cabinet_publishes_only_as_itself(broker):
    a, b = broker["a"].serial, broker["b"].serial
    server = broker["connect"](*server_credentials())
    received, granted = subscriber(server, "$share/nuanxin-ingest/cab/+/up/#")
    assert not granted[0].is_failure  # the server's shared subscription is allowed
    cab = broker["connect"](a, cabinet_password(a))
    publish(cab, f"cab/{b}/up/heartbeat", b'{"forged": true}')  # pretending to be b
    publish(cab, f"cab/{a}/up/heartbeat", b'{"ok": true}')
    assert drain(received, f"cab/{a}/up/heartbeat") == [f"cab/{a}/up/heartbeat"]


def test_a_cabinet_reads_only_its_own_commands(broker):
    a, b = broker["a"].serial, broker["b"].serial
    cab = broker["connect"](a, cabinet_password(a))
    received, granted = subscriber(cab, "cab/+/down/#")
    other_up, _ = subscriber(broker["connect"](a, cabinet_password(a)), f"cab/{b}/up/#")
    server = broker["connect"](*server_credentials())
    publish(server, f"cab/{b}/down/open_door", {"slot": 1})
    publish(broker["connect"](b, cabinet_password(b)), f"cab/{b}/up/heartbeat", b"{}")
    publish(server, f"cab/{a}/down/open_door", {"slot": 2})
    assert drain(received, f"cab/{a}/down/open_door") == [f"cab/{a}/down/open_door"]
    with pytest.raises(queue.Empty):
        other_up.get(timeout=0.5)  # b's reports are not a's to read


def test_wrong_or_missing_credentials_are_refused(broker):
    a, b = broker["a"].serial, broker["b"].serial
    with pytest.raises(ConnectionError):
        broker["connect"](a, "not-the-password")
    with pytest.raises(ConnectionError):
        broker["connect"](a, cabinet_password(b))  # another cabinet's password
    with pytest.raises(ConnectionError):
        broker["connect"]("", "")  # anonymous
    assert broker["connect"](b, cabinet_password(b)).is_connected()


def test_the_ingester_checks_the_serial_inside_the_payload(broker):
    a, b = broker["a"].serial, broker["b"].serial
    user, password = server_credentials()
    ingester = Ingester(client_id=f"acl-ingest-{uuid.uuid4().hex[:8]}", url=broker["url"],
                        username=user, password=password, group="acl-test",
                        topics=[f"cab/{a}/up/#"], batch_ms=10, housekeeping=False).start()
    try:
        cab = broker["connect"](a, cabinet_password(a))
        # Its own topic (the ACL lets it) but the body claims to be b.
        publish(cab, f"cab/{a}/up/heartbeat", {"id": "x1", "seq": 1, "ts": 1, "serial": b,
                                                "uptime_s": 5})
        publish(cab, f"cab/{a}/up/heartbeat", {"id": "x2", "seq": 2,
                                                "ts": int(time.time() * 1000), "serial": a,
                                                "uptime_s": 6})
        assert ingester.wait_idle(10)
    finally:
        ingester.stop()
    assert list(IngestRejection.objects.values_list("reason", flat=True)) == ["serial_mismatch"]
    assert ingester.stats.applied == 1

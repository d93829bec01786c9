"""The virtual cabinets: physics, the protocol on the wire (watched on the real Mosquitto),
commands, every injectable fault, and the demo's embedded broker."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import urlparse

import paho.mqtt.client as paho
import pytest
from django.conf import settings

from nuanxin.energy import protocol
from nuanxin.energy.simulator import Faults, VirtualCabinet, demo_hands, parse_faults
from tests.factories.energy import serial
from tests.factories.places import CHOUCHENG, YIWU


def broker_url() -> str:
    return settings.MQTT_URL


class Watcher:
    """A subscriber on the real broker recording every message of one cabinet, in order."""

    def __init__(self, cabinet_serial: str, url: str | None = None) -> None:
        parsed = urlparse(url or broker_url())
        self.messages: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2,
                                  client_id=f"test-watch-{uuid.uuid4().hex[:10]}")
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.connect(parsed.hostname, parsed.port or 1883)
        self.client.loop_start()
        self.client.subscribe(f"cab/{cabinet_serial}/#", qos=1)
        assert subscribed.wait(5), "could not subscribe on the broker"

    def _on_message(self, client, userdata, msg) -> None:
        with self._lock:
            self.messages.append((msg.topic, json.loads(msg.payload)))

    def of(self, kind: str) -> list[dict]:
        with self._lock:
            return [p for t, p in self.messages if t.rsplit("/", 1)[-1] == kind]

    def up(self) -> list[tuple[str, dict]]:
        with self._lock:
            return [(t.rsplit("/", 1)[-1], p) for t, p in self.messages if "/up/" in t]

    def wait(self, predicate, timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.02)
        return False

    def command(self, cabinet_serial: str, kind: str, **fields) -> str:
        cmd_id = uuid.uuid4().hex
        body = {"id": cmd_id, "seq": int(time.time() * 1000), "ts": int(time.time() * 1000),
                "serial": cabinet_serial, **fields}
        self.client.publish(protocol.down_topic(cabinet_serial, kind), json.dumps(body), qos=1)
        return cmd_id

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def watch():
    made = []

    def make(cabinet_serial: str) -> Watcher:
        w = Watcher(cabinet_serial)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


@pytest.fixture
def live():
    """Start VirtualCabinets (not from the database) on the real broker; stop them after."""
    made = []

    def make(slots=None, **kw) -> VirtualCabinet:
        cab = VirtualCabinet(serial("SIM"), slots=slots or {1: (serial("BAT"), 100.0, 97.0)},
                             mqtt_url=broker_url(), **kw)
        made.append(cab)
        return cab

    yield make
    for cab in made:
        cab.stop()


def ack_of(w: Watcher, cmd_id: str) -> dict | None:
    return next((a for a in w.of("ack") if a["cmd"] == cmd_id), None)


# --------------------------------------------------------------------------- physics


def charge_trace(cab: VirtualCabinet, battery_serial: str, minutes: int) -> list[tuple]:
    """(minute, soc, current, temperature, charging) each simulated minute."""
    trace = []
    for minute in range(minutes):
        cab.advance(60)
        b = cab.battery(battery_serial)
        trace.append((minute + 1, b.soc, b.current_a, b.temp_c, cab.slots[1].charging))
    return trace


def test_charging_follows_cc_cv_and_stops_at_the_threshold():
    cab = VirtualCabinet("SIM-PHYS-0001", slots={1: ("BAT-PHYS-0001", 10.0, 100.0)},
                         full_pct=95)
    cab._maybe_start_charging(cab.slots[1])
    assert cab.slots[1].charging
    trace = charge_trace(cab, "BAT-PHYS-0001", 6 * 60)
    socs = [t[1] for t in trace]
    assert all(b >= a for a, b in zip(socs, socs[1:], strict=False)), "SoC never falls"

    def minutes_to(pct: float) -> int:
        return next(m for m, soc, *_ in trace if soc >= pct)

    # Fast to 80 %: 10 → 80 at 0.5 C takes about 84 minutes.
    assert 75 <= minutes_to(80) <= 95
    # Slower near full: the 15 points from 80 to 95 take longer than the 30 from 40 to 70.
    assert minutes_to(95) - minutes_to(80) > minutes_to(70) - minutes_to(40)
    rate_low = (trace[39][1] - trace[29][1]) / 10
    at_85 = minutes_to(85)
    rate_high = (trace[at_85 + 9][1] - trace[at_85 - 1][1]) / 10
    assert rate_high < rate_low / 2
    # Stops at the threshold and stays there.
    assert 95 <= socs[-1] < 96.5
    assert not cab.slots[1].charging
    assert trace[-1][2] == 0
    # Warm while charging, back towards ambient after.
    peak = max(t[3] for t in trace)
    assert peak > cab.ambient_c + 5
    assert trace[-1][3] < peak - 4
    # The stop was announced: a slot snapshot with charging off, queued while offline.
    snapshots = [json.loads(p) for kind, _, p in cab._queue if kind == "slot"]
    assert snapshots and snapshots[-1]["charging"] is False


def test_batteries_age_per_cycle_and_faster_when_hot():
    cool = VirtualCabinet("SIM-AGE-0001", slots={1: ("BAT-AGE-0001", 0.0, 100.0)}, full_pct=100)
    hot = VirtualCabinet("SIM-AGE-0002", slots={1: ("BAT-AGE-0002", 0.0, 100.0)}, full_pct=100,
                         ambient_c=42.0)
    for cab, name in ((cool, "BAT-AGE-0001"), (hot, "BAT-AGE-0002")):
        b = cab.battery(name)
        start_cycles = b.cycles
        for _ in range(10):  # ten full charges, each after a ride that emptied the pack
            b.soc = 0.0
            cab.slots[1].charging = False
            cab._maybe_start_charging(cab.slots[1])
            cab.advance(4 * 3600)
        assert b.cycles - start_cycles == pytest.approx(10, abs=0.5)
    cool_b, hot_b = cool.battery("BAT-AGE-0001"), hot.battery("BAT-AGE-0002")
    assert 99.0 < cool_b.soh < 100.0
    assert hot_b.soh < cool_b.soh - 0.2


def test_fault_rates_parse_and_are_checked():
    faults = parse_faults("door_jam=0.05,duplicate=0.1", seed=3)
    assert (faults.door_jam, faults.duplicate, faults.late, faults.seed) == (0.05, 0.1, 0.0, 3)
    with pytest.raises(ValueError, match="unknown fault"):
        parse_faults("gremlins=1")
    with pytest.raises(ValueError):
        Faults(smoke=2.0)


# --------------------------------------------------------------------------- on the wire


def test_boot_snapshots_and_telemetry_validate_against_the_protocol(live, watch):
    cab = live(slots={1: (serial("BAT"), 30.0, 92.0), 2: (serial("BAT"), 100.0, 97.0), 3: None},
               speed=600, heartbeat_s=0.5, clock_skew_s=-42)
    w = watch(cab.serial)
    cab.start()
    assert w.wait(lambda: len(w.of("telemetry")) >= 10 and w.of("heartbeat"))
    cab.stop()
    up = w.up()
    assert up[0][0] == "boot"
    assert [p["slot"] for k, p in up[1:13]] == list(range(1, 13))
    seqs, ids = [], set()
    for kind, payload in up:
        parsed_kind, message = protocol.parse_up(protocol.up_topic(cab.serial, kind),
                                                 json.dumps(payload).encode())
        assert parsed_kind == kind
        seqs.append(message.seq)
        ids.add(message.id)
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert len(ids) == len(up)
    # The cabinet's clock runs 42 s behind.
    assert abs(up[0][1]["ts"] / 1000 - (time.time() - 42)) < 10
    charging = [p for p in w.of("telemetry") if p["slot"] == 1]
    assert charging[0]["current_a"] > 0
    assert charging[-1]["soc_pct"] > charging[0]["soc_pct"]
    assert all(p["cell_min_mv"] <= p["cell_max_mv"] for p in charging)
    snapshot = next(p for p in w.of("slot") if p["slot"] == 2)
    assert snapshot["battery"] == cab.slots[2].battery.serial and not snapshot["charging"]


def test_open_door_command_is_obeyed_and_acknowledged(live, watch):
    bat = serial("BAT")
    cab = live(slots={1: (bat, 100.0, 97.0), 2: None})
    w = watch(cab.serial)
    cab.start()
    cmd = w.command(cab.serial, "open_door", slot=2, swap=17)
    assert cab.wait_door_open(timeout=5) == 2
    assert w.wait(lambda: ack_of(w, cmd) and w.of("door"))
    assert ack_of(w, cmd)["result"] == "ok"
    opened = w.of("door")[0]
    assert (opened["slot"], opened["event"], opened["cmd"]) == (2, "opened", cmd)
    rider_battery = serial("BAT")
    cab.insert_battery(2, rider_battery)
    assert w.wait(lambda: len(w.of("door")) == 2)
    closed = w.of("door")[1]
    assert (closed["event"], closed["battery"], closed["unread"]) == ("closed", rider_battery,
                                                                      False)
    assert closed["cmd"] == cmd  # the close names the command that had opened the door
    # The full battery's door next; the rider takes it.
    cmd2 = w.command(cab.serial, "open_door", slot=1)
    assert cab.wait_door_open(timeout=5) == 1
    assert cab.take_battery(1) == bat
    assert w.wait(lambda: len(w.of("door")) == 4)
    assert w.of("door")[3]["battery"] is None and w.of("door")[3]["event"] == "closed"
    assert w.of("door")[3]["cmd"] == cmd2
    assert ack_of(w, cmd2)["result"] == "ok"
    # A redelivered command (same id) is answered again but not executed twice.
    body = {"id": cmd2, "seq": 99, "ts": int(time.time() * 1000), "serial": cab.serial,
            "slot": 1}
    w.client.publish(protocol.down_topic(cab.serial, "open_door"), json.dumps(body), qos=1)
    assert w.wait(lambda: sum(1 for a in w.of("ack") if a["cmd"] == cmd2) == 2)
    assert cab.wait_door_open(timeout=0.5) is None
    assert len(w.of("door")) == 4


def test_demo_hands_put_in_the_battery_the_command_names(live, watch, monkeypatch):
    # The simulated rider learns what to put in from the command alone (no server tables).
    monkeypatch.setattr("nuanxin.energy.simulator.cabinet.time.sleep", lambda s: None)
    bat = serial("BAT")
    cab = live(slots={1: (bat, 100.0, 97.0), 2: None}, hands=demo_hands)
    w = watch(cab.serial)
    cab.start()
    brought = serial("BAT")
    w.command(cab.serial, "open_door", slot=2, swap=5, battery=brought)
    assert w.wait(lambda: len(w.of("door")) == 2)
    assert w.of("door")[1]["battery"] == brought
    w.command(cab.serial, "open_door", slot=1, swap=5)
    assert w.wait(lambda: len(w.of("door")) == 4)
    assert w.of("door")[3]["battery"] is None and cab.battery(bat) is None


def test_slot_charging_threshold_and_cabinet_commands(live, watch):
    cab = live(slots={1: (serial("BAT"), 50.0, 95.0), 2: (serial("BAT"), 100.0, 95.0)})
    w = watch(cab.serial)
    cab.start()
    assert cab.slots[1].charging
    off = w.command(cab.serial, "charging", slot=1, on=False)
    assert w.wait(lambda: ack_of(w, off))
    assert not cab.slots[1].charging
    assert w.wait(lambda: any(p["slot"] == 1 and not p["charging"] for p in w.of("slot")[12:]))
    disable = w.command(cab.serial, "slot", slot=2, enabled=False)
    assert w.wait(lambda: ack_of(w, disable))
    refused = w.command(cab.serial, "open_door", slot=2)
    assert w.wait(lambda: ack_of(w, refused))
    assert (ack_of(w, refused)["result"], ack_of(w, refused)["error"]) == ("error",
                                                                         "slot_disabled")
    threshold = w.command(cab.serial, "threshold", full_pct=90)
    assert w.wait(lambda: ack_of(w, threshold))
    assert cab.full_pct == 90
    on = w.command(cab.serial, "charging", slot=1, on=True)
    assert w.wait(lambda: ack_of(w, on))
    assert cab.slots[1].charging
    stop_all = w.command(cab.serial, "cabinet", enabled=False)
    assert w.wait(lambda: ack_of(w, stop_all))
    assert not cab.slots[1].charging
    closed = w.command(cab.serial, "open_door", slot=1)
    assert w.wait(lambda: ack_of(w, closed))
    assert ack_of(w, closed)["error"] == "cabinet_disabled"
    assert cab.wait_door_open(timeout=0.2) is None


# --------------------------------------------------------------------------- faults


def test_fault_door_jam(live, watch):
    cab = live(slots={1: None}, faults=Faults(door_jam=1.0, seed=1))
    w = watch(cab.serial)
    cab.start()
    cmd = w.command(cab.serial, "open_door", slot=1)
    assert w.wait(lambda: ack_of(w, cmd) and w.of("alarm"))
    assert ack_of(w, cmd)["result"] == "error" and ack_of(w, cmd)["error"] == "door_jam"
    jammed = w.of("door")[0]
    assert (jammed["slot"], jammed["event"], jammed["cmd"]) == (1, "jammed", cmd)
    alarm = w.of("alarm")[0]
    assert (alarm["kind"], alarm["state"], alarm["slot"]) == ("door_jam", "start", 1)
    assert cab.wait_door_open(timeout=0.2) is None
    assert cab.slots[1].door == "jammed"


def test_fault_battery_unread(live, watch):
    cab = live(slots={1: None}, faults=Faults(battery_unread=1.0, seed=1))
    w = watch(cab.serial)
    cab.start()
    w.command(cab.serial, "open_door", slot=1)
    assert cab.wait_door_open(timeout=5) == 1
    cab.insert_battery(1, serial("BAT"))
    assert w.wait(lambda: len(w.of("door")) == 2)
    closed = w.of("door")[1]
    assert (closed["event"], closed["battery"], closed["unread"]) == ("closed", None, True)


def test_fault_over_temperature_starts_and_ends_an_alarm(live, watch):
    bat = serial("BAT")
    cab = live(slots={1: (bat, 30.0, 90.0)}, faults=Faults(over_temperature=1.0, seed=1),
               speed=600)
    w = watch(cab.serial)
    cab.start()
    assert w.wait(lambda: len(w.of("alarm")) >= 2, timeout=20)
    start, end = w.of("alarm")[:2]
    assert (start["kind"], start["state"], start["slot"], start["battery"]) == (
        "over_temperature", "start", 1, bat)
    assert start["value"] >= 60
    assert (end["alarm_id"], end["state"]) == (start["alarm_id"], "end")
    assert end["value"] < 60
    hot = [p for p in w.of("telemetry") if p["cell_temp_c"] >= 60]
    assert hot, "the telemetry shows the heat too"
    # The cabinet's own protection stopped charging it.
    assert any(p["slot"] == 1 and not p["charging"] for p in w.of("slot")[12:])


def test_fault_smoke(live, watch):
    cab = live(slots={1: None}, faults=Faults(smoke=1.0, seed=1))
    w = watch(cab.serial)
    cab.start()
    assert w.wait(lambda: w.of("alarm"))
    alarm = w.of("alarm")[0]
    assert (alarm["kind"], alarm["state"], alarm.get("slot")) == ("smoke", "start", None)


def test_fault_disconnect_mid_swap_queues_then_replays_after_boot(live, watch):
    cab = live(slots={1: None, 2: (serial("BAT"), 100.0, 95.0)},
               faults=Faults(disconnect_mid_swap=1.0, seed=1), reconnect_after_s=2.0)
    w = watch(cab.serial)
    cab.start()
    cmd = w.command(cab.serial, "open_door", slot=1)
    assert cab.wait_door_open(timeout=5) == 1
    assert w.wait(lambda: w.of("will"), timeout=10), "the broker published the last will"
    assert not cab.online
    cab.insert_battery(1, serial("BAT"))  # the rider carries on while the line is down
    cab.raise_alarm("battery_unread", slot=1)
    assert len(w.of("boot")) == 1
    assert w.wait(lambda: len(w.of("boot")) == 2, timeout=10)
    assert w.wait(lambda: len(w.of("alarm")) == 1)
    up = w.up()
    second_boot = max(i for i, (k, _) in enumerate(up) if k == "boot")
    boot, after = up[second_boot][1], up[second_boot + 1:]
    queued = after[:boot["queued"]]
    # What happened offline (the door closing, the alarm, the new battery's first telemetry),
    # right after the boot, in the order it happened, all older than the boot.
    assert [k for k, _ in queued if k != "telemetry"] == ["door", "alarm"]
    assert next(p for k, p in queued if k == "door")["event"] == "closed"
    seqs = [p["seq"] for _, p in queued]
    assert seqs == sorted(seqs) and seqs[-1] < boot["seq"]
    assert ack_of(w, cmd)["result"] == "ok"


def test_manual_disconnect_and_reconnect(live, watch):
    cab = live(slots={1: None})
    w = watch(cab.serial)
    cab.start()
    cab.disconnect()
    first = cab.raise_alarm("smoke")
    second = cab.raise_alarm("smoke", state="end", alarm_id=first)
    time.sleep(0.3)
    assert not w.of("alarm")
    cab.reconnect()
    assert w.wait(lambda: len(w.of("alarm")) == 2)
    kinds = [k for k, _ in w.up() if k != "heartbeat"]
    assert kinds[-3:] == ["boot", "alarm", "alarm"]
    assert [a["state"] for a in w.of("alarm")] == ["start", "end"]
    assert w.of("alarm")[0]["alarm_id"] == second


def test_fault_duplicate_resends_the_same_id(live, watch):
    cab = live(slots={1: None}, faults=Faults(duplicate=1.0, seed=1))
    w = watch(cab.serial)
    cab.start()
    assert w.wait(lambda: len(w.of("slot")) >= 24)
    ids = [p["id"] for p in w.of("slot")]
    assert len(set(ids)) == 12 and all(ids.count(i) == 2 for i in ids)


def test_fault_late_sends_a_lower_seq_after_a_higher(live, watch):
    cab = live(slots={1: None}, faults=Faults(late=1.0, seed=1))
    w = watch(cab.serial)
    cab.start()
    assert w.wait(lambda: len(w.of("slot")) == 12)
    seqs = [p["seq"] for k, p in w.up()]
    assert seqs != sorted(seqs)
    assert sorted(seqs) == list(range(1, 14))  # nothing lost: boot + 12 snapshots


# --------------------------------------------------------------------------- demo broker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_embedded_broker_relays_messages():
    from nuanxin.energy.broker import BrokerThread, PortInUse

    port = free_port()
    broker = BrokerThread(port=port).start()
    try:
        url = f"mqtt://127.0.0.1:{port}"
        w = Watcher("DEMO-1", url=url)
        cab = VirtualCabinet(serial("SIM"), slots={1: None}, mqtt_url=url)
        w.client.unsubscribe("cab/DEMO-1/#")
        w.client.subscribe(f"cab/{cab.serial}/#", qos=1)
        time.sleep(0.2)
        cab.start()
        try:
            assert w.wait(lambda: w.of("boot") and len(w.of("slot")) == 12)
            cmd = w.command(cab.serial, "open_door", slot=1)
            assert cab.wait_door_open(timeout=5) == 1
            assert w.wait(lambda: ack_of(w, cmd))
        finally:
            cab.stop()
            w.close()
        with pytest.raises(PortInUse):
            BrokerThread(port=port).start()
        # `nuanxin run` tells a broker holding its port from anything else holding it.
        from nuanxin.ops.management.commands.run import _speaks_mqtt

        assert _speaks_mqtt("127.0.0.1", port)
        with socket.socket() as other:
            other.bind(("127.0.0.1", 0))
            other.listen()
            assert not _speaks_mqtt("127.0.0.1", other.getsockname()[1])
    finally:
        broker.stop()


def test_broker_command_says_clearly_when_the_port_is_taken(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {**os.environ, "NUANXIN_VAR_DIR": str(tmp_path)}
        result = subprocess.run(  # noqa: S603 - our own interpreter and command
            [sys.executable, "-m", "nuanxin", "energy", "broker", "--port", str(port)],
            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert f"port {port}" in result.stderr and "already in use" in result.stderr


# --------------------------------------------------------------------------- with the server


@pytest.mark.django_db(transaction=True)
def test_shared_fixtures_bring_a_database_cabinet_alive(mqtt_ingester, virtual_cabinet):
    from nuanxin.energy.models import Battery, BatteryStatus, Cabinet

    cab = virtual_cabinet(full=2, charging=1, online=False, speed=600)
    charging = Battery.objects.get(slot__cabinet=cab.cabinet, status=BatteryStatus.CHARGING)
    assert charging.soc_pct == 40.0

    def alive() -> bool:
        row = Cabinet.objects.get(pk=cab.cabinet.pk)
        battery = Battery.objects.get(pk=charging.pk)
        return row.online and battery.soc_pct > 45 and battery.last_telemetry_at is not None

    deadline = time.monotonic() + 20
    while not alive() and time.monotonic() < deadline:
        mqtt_ingester.wait_idle(1)
    assert alive(), "the cabinet came online and its telemetry reached the battery's row"
    battery = Battery.objects.get(pk=charging.pk)
    assert battery.current_a > 0 and battery.cell_temp_c > 20


@pytest.mark.django_db
def test_simulate_command_brings_database_cabinets_on_the_wire(watch):
    from io import StringIO

    from nuanxin.energy.simulate import main
    from tests.factories import energy as factories

    cab = factories.cabinet(full=3, charging=1)
    w = watch(cab.serial)
    out = StringIO()
    main(stdout=out, cabinets=5, serials=[cab.serial], seconds=1.5, speed=60,
         faults="duplicate=0", auto_hands=False)
    assert f"Simulating 1 cabinet(s) at 60x: {cab.serial}" in out.getvalue()
    assert w.wait(lambda: w.of("boot") and len(w.of("slot")) == 12)
    snapshots = {p["slot"]: p for p in w.of("slot")}
    assert sum(1 for p in snapshots.values() if p["battery"]) == 4
    assert snapshots[4]["charging"] and not snapshots[1]["charging"]


@pytest.mark.django_db
def test_demo_seeds_the_article_groups_and_a_ledger_that_holds():
    import random
    from datetime import timedelta

    from django.db.models import Count, Max, Min
    from django.utils import timezone

    from nuanxin.accounts.models import User
    from nuanxin.energy.demo import seed_energy
    from nuanxin.energy.models import (
        Alarm,
        Battery,
        BatteryHealthSample,
        BatteryStatus,
        Cabinet,
        PlanKind,
        Subscription,
        Swap,
        SwapState,
    )
    from nuanxin.energy.services.custody import ledger_verify
    from nuanxin.energy.simulate import simulation_from_database
    from tests.factories.people import WorkerFactory

    WorkerFactory(profile=None, phone="13800000001")
    counts = seed_energy(random.Random(2026), demo_rider_phone="13800000001")
    assert ledger_verify() == []
    yiwu = Cabinet.objects.filter(region__code__startswith=CHOUCHENG, is_demo=True)
    groups = dict(yiwu.values_list("group").annotate(n=Count("id")))
    assert len(groups) == 8 and set(groups.values()) == {2}
    assert all(c.slot_count == 12 and c.slots.count() == 12 for c in yiwu)
    per_cabinet = set(Battery.objects.filter(slot__cabinet__in=yiwu).values_list(
        "slot__cabinet").annotate(n=Count("id")).values_list("n", flat=True))
    assert per_cabinet == {10}
    assert Cabinet.objects.exclude(region__code__startswith=YIWU).exists()
    month = Swap.objects.filter(state=SwapState.COMPLETED, cabinet__in=yiwu,
                                created_at__gte=timezone.now() - timedelta(days=31))
    assert month.values("rider").distinct().count() >= 800
    assert counts["riders"] >= 800
    rider = User.objects.get(phone="13800000001")
    sub = Subscription.objects.get(rider=rider, status="active")
    assert (sub.plan.kind, sub.plan.price_fen) == (PlanKind.MONTHLY, 29900)
    assert sub.paid_until > timezone.now()
    assert Battery.objects.get(holder=rider).model == sub.plan.battery_model
    assert Battery.objects.filter(slot__cabinet__in=yiwu, soh_pct__lt=80).exists()
    states = set(Battery.objects.filter(slot__cabinet__in=yiwu).values_list("status", flat=True))
    assert {BatteryStatus.FULL, BatteryStatus.CHARGING, BatteryStatus.QUARANTINED} <= states
    hot = Battery.objects.get(status=BatteryStatus.QUARANTINED)
    assert Alarm.objects.filter(battery=hot, state="open").exists() and hot.slot.locked
    drops = (BatteryHealthSample.objects.values("battery").annotate(hi=Max("soh_pct"),
                                                                   lo=Min("soh_pct")))
    assert sum(1 for d in drops if d["hi"] - d["lo"] > 3) >= 5
    # The simulator mirrors a demo cabinet, and leaves the quarantined battery uncharged.
    virtual = simulation_from_database(
        Cabinet.objects.filter(pk=hot.slot.cabinet_id)).cabinets[0]
    assert virtual.battery(hot.serial) is not None
    slot = virtual.slots[hot.slot.number]
    virtual._maybe_start_charging(slot)
    assert slot.charging_blocked and not slot.charging
    # ...and carries on the alarm the demo says is in progress: it cools and ends it.
    assert slot.alarm_id == "demo-overheat-1" and slot.battery.temp_c > 60
    virtual.advance(30 * 60)
    alarms = [json.loads(body) for kind, _, body in virtual._queue if kind == "alarm"]
    assert [(a["alarm_id"], a["state"]) for a in alarms] == [("demo-overheat-1", "end")]

"""Benchmark: cabinet telemetry ingestion and swaps through the broker, each beside the raw
broker throughput measured in the same run.

    .venv/bin/python bench/swaps.py                       # SQLite, in a scratch directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python bench/swaps.py
                                                          # PostgreSQL: a fresh database
                                                          # <x>_bench_swaps, dropped after

Everything runs against a private Mosquitto started on a free port (anonymous, unlimited
queues so a slow consumer is measured rather than having messages dropped), a scratch
NUANXIN_VAR_DIR and a database this script creates and migrates itself.

(a) raw broker: N same-size telemetry messages published QoS 1 as fast as one paho client
    can, received by a subscriber in another OS process doing nothing with them: msgs/s
    from the first publish to the last receive.
(b) ingestion: the same N messages (valid telemetry of B virtual batteries in C cabinets)
    consumed by `nuanxin energy ingest` (a separate OS process), then by two of them sharing
    the subscription: msgs/s from the first publish until the N-th DeviceMessage row is
    committed (the database is polled).
(c) swaps: virtual cabinets (energy.simulator) with one simulated rider each, swapping one
    after another through the real services, the real broker and one ingest process:
    completed swaps/s, and command latency (CabinetCommand.acked_at - sent_at, p50/p95).
Each figure is printed with its ratio to the raw broker figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NUANXIN = str(ROOT / ".venv" / "bin" / "nuanxin")
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


# --------------------------------------------------------------------------- set-up
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_broker(tmp: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    conf = tmp / "mosquitto.conf"
    lines = [f"listener {port} 127.0.0.1", "allow_anonymous true", "persistence false",
             "max_queued_messages 0", "max_inflight_messages 100",
             f"log_dest file {tmp / 'mosquitto.log'}"]
    if os.geteuid() == 0:
        lines.append("user root")
    conf.write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)])
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("mosquitto did not start") from None
            time.sleep(0.05)


def fresh_database(tmp: Path) -> tuple[str, callable]:
    """A DATABASE_URL for a database nobody else uses, and how to drop it afterwards."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return f"sqlite:///{tmp / 'bench.sqlite3'}", lambda: None
    from urllib.parse import urlparse, urlunparse

    import psycopg

    parsed = urlparse(url)
    name = f"{(parsed.path.lstrip('/') or 'nuanxin')}_bench_swaps"
    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunparse(parsed._replace(path=f"/{name}")), drop


def django_setup() -> None:
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "nuanxin.settings"
    import django

    django.setup()


def build_fleet(cabinets: int, swap_cabinets: int) -> tuple[list, list]:
    """Telemetry cabinets (12 full slots each) and swap cabinets (10 full, 2 empty)."""
    from nuanxin.geo.services import regions_load_zhejiang
    from tests.factories import energy as f

    regions_load_zhejiang()
    op = f.operator("基准测试换电运营商")
    tel = [f.cabinet(op=op, full=12, charging=0) for _ in range(cabinets)]
    swap = [f.cabinet(op=op, full=10, charging=0) for _ in range(swap_cabinets)]
    return tel, swap


# --------------------------------------------------------------------------- messages
def telemetry_messages(fleet: list[tuple[str, list[tuple[int, str]]]], n: int,
                       seq0: int) -> list[tuple[str, bytes]]:
    """n valid telemetry messages round-robin over every battery of every cabinet."""
    out: list[tuple[str, bytes]] = []
    seq = {serial: seq0 for serial, _ in fleet}
    ts = int(time.time() * 1000)
    rounds = 0
    while len(out) < n:
        for serial, batteries in fleet:
            for slot, battery in batteries:
                if len(out) >= n:
                    break
                seq[serial] += 1
                body = {"id": uuid.uuid4().hex, "seq": seq[serial], "ts": ts, "serial": serial,
                        "slot": slot, "battery": battery, "voltage_v": 52.3,
                        "current_a": 4.8, "soc_pct": round(40.0 + rounds * 0.01, 2),
                        "soh_pct": 97.0, "cycle_count": 12, "cell_min_mv": 3301,
                        "cell_max_mv": 3324, "cell_temp_c": 31.2, "ambient_c": 24.5,
                        "charge_ah": round(300.0 + rounds * 0.01, 3)}
                out.append((f"cab/{serial}/up/telemetry",
                            json.dumps(body, separators=(",", ":")).encode()))
        rounds += 1
    return out


def publish_all(port: int, messages: list[tuple[str, bytes]]) -> float:
    """Publish QoS 1 as fast as the client goes; returns the wall time of the first."""
    import paho.mqtt.client as paho

    client = paho.Client(paho.CallbackAPIVersion.VERSION2,
                         client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    time.sleep(0.2)
    started = time.time()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()
    return started


def sink(port: int, expect: int) -> None:
    """--role sink: subscribe, count, print the wall times of the first and last message."""
    import paho.mqtt.client as paho

    state = {"n": 0, "first": 0.0, "last": 0.0}
    done = threading.Event()

    def on_message(c, u, m):
        now = time.time()
        if state["n"] == 0:
            state["first"] = now
        state["n"] += 1
        state["last"] = now
        if state["n"] >= expect:
            done.set()

    subscribed = threading.Event()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2,
                         client_id=f"bench-sink-{uuid.uuid4().hex[:8]}")
    client.on_message = on_message
    client.on_subscribe = lambda *a: subscribed.set()
    client.connect("127.0.0.1", port)
    client.subscribe("cab/+/up/#", qos=1)
    client.loop_start()
    subscribed.wait(10)
    print("ready", flush=True)
    done.wait(300)
    client.disconnect()
    client.loop_stop()
    print(json.dumps(state), flush=True)


# --------------------------------------------------------------------------- (a) raw
def bench_raw(port: int, live, backlog) -> dict:
    """live: publish while the subscriber receives. backlog: the subscriber is paused
    (SIGSTOP) while everything is published, then resumed: its own drain rate, with no
    publisher competing for the CPUs."""
    out = {}
    for mode, messages in (("live", live), ("backlog", backlog)):
        proc = subprocess.Popen([sys.executable, __file__, "--role", "sink", "--port",
                                 str(port), "--expect", str(len(messages))],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        if mode == "backlog":
            proc.send_signal(signal.SIGSTOP)
            publish_all(port, messages)
            started = time.time()
            proc.send_signal(signal.SIGCONT)
        else:
            started = publish_all(port, messages)
        result = json.loads(proc.stdout.readline())
        proc.wait(30)
        out[mode] = len(messages) / (result["last"] - started)
    return out


# --------------------------------------------------------------------------- (b) ingest
def start_ingesters(count: int, env: dict, tmp: Path) -> list[subprocess.Popen]:
    procs = []
    for i in range(count):
        log = open(tmp / f"ingest-{len(list(tmp.glob('ingest-*')))}-{i}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen([NUANXIN, "energy", "ingest", "--batch-ms", "50"], env=env,
                                stdout=subprocess.PIPE, stderr=log, text=True)
        line = proc.stdout.readline()
        if not line.startswith("ingesting"):
            raise SystemExit(f"ingest did not start: {line!r} (see {log.name})")
        procs.append(proc)
    return procs


def stop_processes(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def telemetry_applied() -> int:
    from nuanxin.energy.models import DeviceMessage

    return DeviceMessage.objects.filter(kind="telemetry").count()


def bench_ingest(port: int, processes: int, live, backlog, warmup, env: dict,
                 tmp: Path) -> dict:
    """As bench_raw, with `nuanxin energy ingest` processes as the consumers; a message
    counts when its DeviceMessage row is committed."""
    from django.db import connection

    from nuanxin.energy.models import IngestRejection

    procs = start_ingesters(processes, env, tmp)
    try:
        base = telemetry_applied()
        publish_all(port, warmup)
        wait_applied(base + len(warmup), 120)
        base = telemetry_applied()
        started = publish_all(port, live)
        published = time.time()
        done = wait_applied(base + len(live), 600)
        live_rate = len(live) / (done - started)
        publish_rate = len(live) / (published - started)
        base = telemetry_applied()
        for proc in procs:
            proc.send_signal(signal.SIGSTOP)
        publish_all(port, backlog)
        started = time.time()
        for proc in procs:
            proc.send_signal(signal.SIGCONT)
        done = wait_applied(base + len(backlog), 600)
        backlog_rate = len(backlog) / (done - started)
        rejected = IngestRejection.objects.count()
        connection.close()
    finally:
        stop_processes(procs)
    return {"live": live_rate, "backlog": backlog_rate, "publish_rate": publish_rate,
            "rejected": rejected}


def wait_applied(target: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if telemetry_applied() >= target:
            return time.time()
        time.sleep(0.1)
    raise SystemExit(f"only {telemetry_applied()} of {target} telemetry messages applied")


# --------------------------------------------------------------------------- (c) swaps
def bench_swaps(port: int, swap_cabinets, env: dict, tmp: Path, seconds: float) -> dict:
    from django.db import connection
    from django.utils import timezone

    from nuanxin.energy.models import (
        Battery,
        Cabinet,
        CabinetCommand,
        PlanKind,
        Swap,
        SwapState,
    )
    from nuanxin.energy.services import swaps
    from nuanxin.energy.simulate import simulation_from_database
    from tests.factories import energy as f

    sim = simulation_from_database(Cabinet.objects.filter(pk__in=[c.pk for c in swap_cabinets]),
                                   mqtt_url=f"mqtt://127.0.0.1:{port}", credentials=False,
                                   heartbeat_s=10.0)
    riders = {c.pk: f.subscribed_rider(op=c.operator, kind=PlanKind.MONTHLY)
              for c in swap_cabinets}
    procs = start_ingesters(1, env, tmp)
    completed: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    stop_at = [0.0]

    def wait_state(swap_id: int, states: set[str], timeout: float = 20.0) -> Swap:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            swap = Swap.objects.get(pk=swap_id)
            if swap.state in states:
                return swap
            time.sleep(0.01)
        raise TimeoutError(f"swap {swap_id} stuck in {Swap.objects.get(pk=swap_id).state}")

    def rider_loop(virtual, cabinet_id: int) -> None:
        rider = riders[cabinet_id]
        try:
            while time.monotonic() < stop_at[0]:
                held = Battery.objects.get(holder=rider)
                t0 = time.monotonic()
                swap = swaps.swap_start(rider=rider, cabinet_id=cabinet_id,
                                        request_key=uuid.uuid4().hex)
                slot = virtual.wait_door_open(timeout=15)
                if slot is None:
                    raise TimeoutError("return door never opened")
                wait_state(swap.pk, {SwapState.RETURNING})
                virtual.insert_battery(slot, held.serial, soc=held.soc_pct, soh=held.soh_pct)
                release = virtual.wait_door_open(timeout=15)
                if release is None:
                    raise TimeoutError("release door never opened")
                wait_state(swap.pk, {SwapState.TAKING})
                virtual.take_battery(release)
                wait_state(swap.pk, {SwapState.COMPLETED})
                with lock:
                    completed.append(time.monotonic() - t0)
        except Exception as exc:  # the figures say how many riders were cut short, and why
            msg = f"{type(exc).__name__}: {exc}"
            if "no full battery" not in msg and "busy" not in msg.lower():
                with lock:
                    failures.append(msg)
        finally:
            connection.close()

    try:
        sim.start()
        # Measure the steady state: every boot and slot snapshot applied first.
        from nuanxin.energy.models import DeviceMessage

        deadline = time.monotonic() + 60
        while (DeviceMessage.objects.filter(kind="slot", cabinet__in=swap_cabinets).count()
               < sum(c.slot_count for c in swap_cabinets) and time.monotonic() < deadline):
            time.sleep(0.1)
        since = timezone.now()
        stop_at[0] = time.monotonic() + seconds
        started = time.monotonic()
        virtual = {v.serial: v for v in sim.cabinets}
        threads = [threading.Thread(target=rider_loop, args=(virtual[c.serial], c.pk))
                   for c in swap_cabinets]
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 60)
        elapsed = time.monotonic() - started
    finally:
        sim.stop()
        stop_processes(procs)
    latencies = sorted(
        (c.acked_at - c.sent_at).total_seconds() * 1000
        for c in CabinetCommand.objects.filter(created_at__gte=since, acked_at__isnull=False,
                                               sent_at__isnull=False))
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    return {"swaps": len(completed), "elapsed": elapsed, "rate": len(completed) / elapsed,
            "swap_p50_ms": statistics.median(completed) * 1000 if completed else float("nan"),
            "cmd_p50_ms": statistics.median(latencies) if latencies else float("nan"),
            "cmd_p95_ms": p95, "commands": len(latencies), "failures": failures}


# --------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", default="bench", choices=["bench", "sink"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--expect", type=int, default=0)
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--cabinets", type=int, default=100,
                        help="telemetry cabinets (12 batteries each)")
    parser.add_argument("--swap-cabinets", type=int, default=10)
    parser.add_argument("--swap-seconds", type=float, default=20.0)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    if args.role == "sink":
        sink(args.port, args.expect)
        return

    tmp = Path(tempfile.mkdtemp(prefix="nx-bench-swaps-"))
    broker, port = start_broker(tmp)
    database_url, drop_database = fresh_database(tmp)
    env = {**os.environ, "NUANXIN_VAR_DIR": str(tmp), "DATABASE_URL": database_url,
           "MQTT_URL": f"mqtt://127.0.0.1:{port}", "MQTT_USERNAME": "", "MQTT_PASSWORD": "",
           "MQTT_SHARE_GROUP": f"bench-{uuid.uuid4().hex[:6]}",
           "ENERGY_OFFLINE_AFTER_S": "600", "PYTHONUNBUFFERED": "1"}
    os.environ.update({k: env[k] for k in ("NUANXIN_VAR_DIR", "DATABASE_URL", "MQTT_URL",
                                          "MQTT_USERNAME", "MQTT_PASSWORD")})
    try:
        subprocess.run([NUANXIN, "migrate", "-v", "0"], env=env, check=True)
        django_setup()
        from django.db import connection

        t0 = time.monotonic()
        tel_cabinets, swap_cabinets = build_fleet(args.cabinets, args.swap_cabinets)
        from nuanxin.energy.models import Battery

        fleet = []
        for cab in tel_cabinets:
            rows = Battery.objects.filter(slot__cabinet=cab).values_list("slot__number",
                                                                         "serial")
            fleet.append((cab.serial, sorted(rows)))
        print(f"database: {connection.vendor}; {len(tel_cabinets)} telemetry cabinets "
              f"({sum(len(b) for _, b in fleet)} batteries), {len(swap_cabinets)} swap "
              f"cabinets; set up in {time.monotonic() - t0:.0f} s; broker: private "
              f"Mosquitto on port {port}; {os.cpu_count()} CPUs")
        n = args.messages
        size = len(telemetry_messages(fleet, 1, 0)[0][1])
        print(f"\n(a) raw broker, {n} telemetry messages of ~{size} bytes, QoS 1, "
              "publisher -> Mosquitto -> subscriber process")
        seq = 1_000_000
        raw = bench_raw(port, telemetry_messages(fleet, n, 0), telemetry_messages(fleet, n, seq))
        seq += 1_000_000
        print(f"    live (publishing meanwhile): {raw['live']:,.0f} msgs/s; "
              f"backlog drain (subscriber paused while all were published, then resumed): "
              f"{raw['backlog']:,.0f} msgs/s")

        results = {}
        for processes in (1, 2):
            batches = []
            for size_ in (500, n, n):
                batches.append(telemetry_messages(fleet, size_, seq))
                seq += 1_000_000
            warmup, live, backlog = batches
            results[processes] = bench_ingest(port, processes, live, backlog, warmup, env, tmp)
        print(f"\n(b) ingestion of the same {n} messages (validated, deduplicated, batteries "
              "updated, SoH sessions tracked), `nuanxin energy ingest` processes:")
        for processes, r in results.items():
            print(f"    {processes} process{'es' if processes > 1 else ''}: "
                  f"live {r['live']:,.0f} msgs/s ({r['live'] / raw['live']:.2f} x raw live; "
                  f"published at {r['publish_rate']:,.0f}/s); backlog drain "
                  f"{r['backlog']:,.0f} msgs/s ({r['backlog'] / raw['backlog']:.2f} x raw "
                  f"drain); rejected {r['rejected']}")
        print(f"    scaling 1 -> 2 processes: live x{results[2]['live'] / results[1]['live']:.2f}, "
              f"backlog drain x{results[2]['backlog'] / results[1]['backlog']:.2f}")
        raw = raw["live"]

        print(f"\n(c) swaps: {len(swap_cabinets)} virtual cabinets, one simulated rider each "
              f"swapping back to back for {args.swap_seconds:.0f} s, 1 ingest process")
        r = bench_swaps(port, swap_cabinets, env, tmp, args.swap_seconds)
        print(f"    {r['swaps']} swaps completed in {r['elapsed']:.1f} s: {r['rate']:.2f} "
              f"swaps/s ({r['rate'] / raw:.5f} x raw broker msgs/s); one swap end to end "
              f"p50 {r['swap_p50_ms']:.0f} ms")
        print(f"    command latency (acked_at - sent_at, {r['commands']} commands): "
              f"p50 {r['cmd_p50_ms']:.1f} ms, p95 {r['cmd_p95_ms']:.1f} ms "
              f"(raw broker: {1000 / raw:.3f} ms per message)")
        if r["failures"]:
            print(f"    riders cut short: {len(r['failures'])}: {r['failures'][:3]}")
        from nuanxin.energy.services.custody import ledger_verify

        problems = ledger_verify()
        print(f"    custody ledger after the run: {'verified' if not problems else problems[:3]}")
        connection.close()
    finally:
        broker.terminate()
        broker.wait(10)
        if args.keep:
            print(f"scratch directory (and database {database_url}) kept: {tmp}")
        else:
            drop_database()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

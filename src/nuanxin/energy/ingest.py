"""The ingest process: cabinet messages from the broker into the database.

    nuanxin energy ingest [--client-id ID] [--batch-ms 50]

Subscribes to `$share/<MQTT_SHARE_GROUP>/cab/+/up/#`: several ingest processes (on one
machine or many) split the cabinets' traffic between them, the broker handing each message
to one of them. paho's network thread only queues what arrives; one worker thread applies
it (`services.device.ingest_batch`): telemetry collected for up to --batch-ms and written
in one transaction per batch; door, ack, alarm, boot and heartbeat messages handed at once
to a few event threads (one on SQLite), each cabinet always to the same thread so its events
keep their order while different cabinets' swaps proceed in parallel.

The worker also runs the housekeeping every ingester shares (each step is safe to run in
several processes at once): about once a second `dispatch.housekeeping` (swap step
timeouts, doors held for commands never answered), and the heartbeat-silence sweep that
marks cabinets offline.

With an explicit --client-id the broker keeps the session (clean_session off): QoS 1
messages that arrive while this process restarts wait for it instead of being dropped.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import socket
import threading
import time
import uuid
import zlib

import paho.mqtt.client as paho
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from nuanxin.energy import dispatch
from nuanxin.energy.mqtt import mqtt_client
from nuanxin.energy.services import device

log = logging.getLogger(__name__)

__all__ = ["Ingester", "main"]

MAX_BATCH = 2000        # telemetry messages per transaction at most
HOUSEKEEPING_S = 1.0    # swap timeouts
SWEEP_S = 5.0           # heartbeat silence


class Ingester:
    """One consumer of cabinet messages: an MQTT connection plus a worker thread."""

    def __init__(self, *, client_id: str, group: str | None = None, batch_ms: int = 50,
                 topics: list[str] | None = None, url: str | None = None,
                 username: str | None = None, password: str | None = None,
                 persistent: bool = False, housekeeping: bool = True,
                 event_workers: int | None = None) -> None:
        self.client_id = client_id
        if topics is None:
            topics = ["cab/+/up/#"]
        # The shared-subscription prefix: the broker gives each message to one group member.
        self.topics = [f"$share/{group}/{t}" for t in topics] if group else list(topics)
        self.batch_s = max(batch_ms, 1) / 1000.0
        self.url, self.username, self.password = url, username, password
        self.persistent = persistent
        self.housekeeping = housekeeping
        self.stats = device.IngestStats()
        self.directory = device.CabinetDirectory()
        self._queue: queue.SimpleQueue[device.Incoming] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        # Events (doors, acks, alarms) of different cabinets are applied in parallel, each
        # cabinet always by the same thread so its own events keep their order. SQLite
        # has one writer at a time anyway: one thread there.
        if event_workers is None:
            event_workers = 4 if connection.vendor == "postgresql" else 1
        self._event_queues: list[queue.SimpleQueue[device.Incoming]] = [
            queue.SimpleQueue() for _ in range(max(1, event_workers))]
        self._event_threads: list[threading.Thread] = []
        self._events_stop = threading.Event()
        self._client: paho.Client | None = None
        self._count_lock = threading.Lock()
        self._received = 0
        self._done = 0
        self._last_receive = 0.0
        self.errors: list[BaseException] = []

    # ---------------------------------------------------------------- MQTT side
    def _on_message(self, client, userdata, msg) -> None:
        self._queue.put(device.Incoming(msg.topic, msg.payload, timezone.now()))
        with self._count_lock:
            self._received += 1
            self._last_receive = time.monotonic()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        # After a reconnect with a clean session the subscription is gone: take it again.
        if not reason_code.is_failure:
            for topic in self.topics:
                client.subscribe(topic, qos=1)

    def start(self) -> Ingester:
        client = mqtt_client(self.client_id, url=self.url, username=self.username,
                             password=self.password, clean_session=not self.persistent)
        client.on_message = self._on_message
        client.on_connect = self._on_connect
        subscribed = threading.Event()
        pending: set[int] = set()

        def on_subscribe(c, userdata, mid, reason_codes, properties):
            pending.discard(mid)
            if not pending:
                subscribed.set()

        client.on_subscribe = on_subscribe
        for topic in self.topics:
            rc, mid = client.subscribe(topic, qos=1)
            pending.add(mid)
        client.loop_start()
        # Tests publish right after start(): only return once the broker confirmed.
        if not subscribed.wait(10):
            client.loop_stop()
            raise ConnectionError("the broker did not confirm the subscription")
        self._client = client
        self._worker = threading.Thread(target=self._run, name=f"ingest-{self.client_id}",
                                        daemon=True)
        self._worker.start()
        for index, events in enumerate(self._event_queues):
            thread = threading.Thread(target=self._run_events, args=(events,), daemon=True,
                                      name=f"ingest-{self.client_id}-events-{index}")
            thread.start()
            self._event_threads.append(thread)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout)
            self._worker = None
        self._events_stop.set()
        for thread in self._event_threads:
            thread.join(timeout)
        self._event_threads = []

    def wait_idle(self, timeout: float = 10.0, settle: float = 0.3) -> bool:
        """Wait until everything received so far is applied and nothing new arrived for
        `settle` seconds (messages still in flight in the broker get that long to land)."""
        called = time.monotonic()
        deadline = called + timeout
        while time.monotonic() < deadline:
            with self._count_lock:
                caught_up = self._done >= self._received
                quiet = time.monotonic() - max(self._last_receive, called) >= settle
            if caught_up and quiet:
                return True
            time.sleep(0.02)
        return False

    # ---------------------------------------------------------------- worker
    def _run(self) -> None:
        telemetry: list[device.Incoming] = []
        flush_at = None
        next_housekeeping = time.monotonic() + HOUSEKEEPING_S
        next_sweep = time.monotonic() + SWEEP_S
        try:
            while not self._stop.is_set() or telemetry:
                now = time.monotonic()
                wait = 0.2
                if flush_at is not None:
                    wait = max(0.0, min(wait, flush_at - now))
                events: list[device.Incoming] = []
                batch: list[device.Incoming] = []
                try:
                    batch.append(self._queue.get(timeout=wait) if wait > 0
                                 else self._queue.get_nowait())
                    while len(batch) < MAX_BATCH:
                        batch.append(self._queue.get_nowait())
                except queue.Empty:
                    pass
                for item in batch:
                    (telemetry if item.topic.endswith("/telemetry") else events).append(item)
                if telemetry and flush_at is None:
                    flush_at = time.monotonic() + self.batch_s
                for item in events:
                    serial = item.topic.split("/", 2)[1] if item.topic.count("/") >= 2 else ""
                    index = zlib.crc32(serial.encode()) % len(self._event_queues)
                    self._event_queues[index].put(item)
                if telemetry and (len(telemetry) >= MAX_BATCH or self._stop.is_set()
                                  or time.monotonic() >= flush_at):
                    chunk, telemetry, flush_at = telemetry, [], None
                    self._apply(chunk)
                if self.housekeeping and not self._stop.is_set():
                    now = time.monotonic()
                    if now >= next_housekeeping:
                        next_housekeeping = now + HOUSEKEEPING_S
                        self._expire()
                    if now >= next_sweep:
                        next_sweep = now + SWEEP_S
                        self._sweep()
                if self._stop.is_set() and self._queue.empty() and not telemetry:
                    break
        finally:
            connection.close()

    def _run_events(self, events: queue.SimpleQueue) -> None:
        try:
            while True:
                batch: list[device.Incoming] = []
                try:
                    batch.append(events.get(timeout=0.1))
                    while len(batch) < 200:
                        batch.append(events.get_nowait())
                except queue.Empty:
                    pass
                if batch:
                    self._apply(batch)
                elif self._events_stop.is_set():
                    break
        finally:
            connection.close()

    def _apply(self, items: list[device.Incoming]) -> None:
        close_old_connections()
        try:
            device.ingest_batch(items, stats=self.stats, directory=self.directory)
        except Exception as exc:
            # Never let one bad batch kill the consumer; the failure is logged and counted.
            log.exception("ingest batch of %d failed", len(items))
            self.errors.append(exc)
            self.stats.reject("apply_error", len(items))
        finally:
            with self._count_lock:
                self._done += len(items)
            self.stats.add(received=len(items))

    def _expire(self) -> None:
        try:
            dispatch.housekeeping(now=timezone.now())
        except Exception as exc:
            log.exception("housekeeping failed")
            self.errors.append(exc)

    def _sweep(self) -> None:
        try:
            device.cabinets_sweep_offline(now=timezone.now())
        except Exception as exc:
            log.exception("offline sweep failed")
            self.errors.append(exc)


def main(*, stdout, client_id: str = "", batch_ms: int = 50, **_) -> None:
    """`nuanxin energy ingest`: run until SIGTERM or SIGINT, printing counts every minute."""
    persistent = bool(client_id)
    client_id = client_id or f"nuanxin-ingest-{socket.gethostname()}-{os.getpid()}-" \
                             f"{uuid.uuid4().hex[:6]}"
    ingester = Ingester(client_id=client_id, group=settings.MQTT_SHARE_GROUP,
                        batch_ms=batch_ms, persistent=persistent)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    ingester.start()
    stdout.write(f"ingesting {', '.join(ingester.topics)} as {client_id} "
                 f"(batch {batch_ms} ms)\n")
    stdout.flush()
    last = time.monotonic()
    while not stop.wait(1.0):
        if time.monotonic() - last >= 60:
            last = time.monotonic()
            stdout.write(f"{ingester.stats.snapshot()}\n")
            stdout.flush()
    ingester.stop()
    stdout.write(f"stopped: {ingester.stats.snapshot()}\n")
    stdout.flush()

"""Virtual battery-swap cabinets speaking the cabinet protocol over MQTT.

Used by `nuanxin energy simulate` (and so by `make run`'s live demo), by the tests and by the
benchmark. A `VirtualCabinet` is the firmware *and* the physical world around it:

- firmware: connects with its own credentials and a last will, sends boot, a snapshot of every
  slot, heartbeats and telemetry, obeys the down commands (doors, enable/disable, charging,
  threshold) and acknowledges each one, queues what it says while offline and sends it after
  the next boot;
- physics: each battery charges on a CC-CV curve (constant current to about 80 %, then a
  tapering current, so the last percent takes longest), warms while charging and relaxes
  towards ambient after, and ages (state of health falls a little per equivalent full cycle,
  faster when hot). `speed` multiplies simulated time (physics and telemetry cadence); the
  heartbeat and the `ts` clock stay on real time, because the server judges those against its
  own clock;
- a rider's hands: `insert_battery`, `take_battery`, `close_door`;
- faults (`Faults`), each drawn from its own rate with a seeded generator.

It knows the cabinet, not the server: it imports only the protocol module, and learns what
a rider brings from the `open_door` command it receives (`battery`). Door changes are
reported by door events only, each echoing the command that opened the door; slot
snapshots go out after boot and when a command changes a slot (enable, charging), so a swap
in progress never sees an unrelated snapshot of its slot.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from urllib.parse import urlparse

import paho.mqtt.client as paho

from nuanxin.energy import protocol
from nuanxin.energy.simulator.battery import (
    CC_C_RATE,
    CC_END_PCT,
    COOLED_C,
    CUTOFF_C,
    HEAT_PER_A,
    HOT_C,
    OVERHEAT_TARGET_C,
    SMOKE_CLEARS_S,
    SOH_LOSS_PER_CYCLE,
    TAPER_FLOOR_A,
    THERMAL_TAU_S,
    Faults,
    Sent,
    SimBattery,
    SimSlot,
)

log = logging.getLogger(__name__)

__all__ = ["VirtualCabinet", "Simulation", "demo_hands"]


class VirtualCabinet:
    """One simulated cabinet; see the module docstring. Thread-safe."""

    def __init__(self, serial: str, *, slots: dict[int, tuple[str, float, float] | None],
                 mqtt_url: str | None = None, username: str | None = None,
                 password: str | None = None, faults: Faults | None = None, speed: float = 1.0,
                 full_pct: int = 95, slot_count: int | None = None,
                 capacity_ah: float = 24.0, rated_voltage_v: float = 48.0,
                 chemistry: str = "LFP", heartbeat_s: float = 30.0,
                 clock_skew_s: float = 0.0, ambient_c: float = 25.0,
                 reconnect_after_s: float = 3.0, firmware: str = "SIM-2.3.1",
                 hands: Callable[[VirtualCabinet, int, dict], None] | None = None,
                 client_id: str | None = None, seq_start: int = 0,
                 overheated: dict[int, tuple[str, float]] | None = None) -> None:
        self.serial = serial
        self.mqtt_url = mqtt_url
        self.username = username
        self.password = password
        self.faults = faults or Faults()
        self.rng = random.Random(self.faults.seed)
        self.speed = float(speed)
        self.full_pct = int(full_pct)
        self.heartbeat_s = heartbeat_s
        self.clock_skew_s = clock_skew_s
        self.ambient_c = ambient_c
        self.reconnect_after_s = reconnect_after_s
        self.firmware = firmware
        self.hands = hands
        self.client_id = client_id or f"sim-{serial}-{uuid.uuid4().hex[:8]}"
        self.enabled = True
        count = slot_count or max([12, *slots])
        self.slots: dict[int, SimSlot] = {n: SimSlot(n) for n in range(1, count + 1)}
        for number, spec in slots.items():
            if spec is not None:
                bat_serial, soc, soh = spec
                self.slots[number].battery = SimBattery(
                    bat_serial, float(soc), float(soh), capacity_ah=capacity_ah,
                    rated_voltage_v=rated_voltage_v, chemistry=chemistry, temp_c=ambient_c,
                    cycles=max(0.0, (100.0 - float(soh)) / SOH_LOSS_PER_CYCLE / 4))
        self.capacity_ah = capacity_ah
        self.rated_voltage_v = rated_voltage_v
        self.chemistry = chemistry
        # Over-temperature alarms still in progress when this cabinet (re)started: slot →
        # (alarm id, cell temperature). The battery cools from there and the alarm ends
        # under COOLED_C, as it would have had the cabinet never stopped.
        for number, (alarm_id, temp_c) in (overheated or {}).items():
            slot = self.slots.get(number)
            if slot is not None and slot.battery is not None:
                slot.alarm_id = alarm_id
                slot.battery.temp_c = float(temp_c)

        self.sent: list[Sent] = []  # every message put on the wire (duplicates included)
        self.commands: list[dict] = []  # every command received
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._seq = max(0, seq_start)  # a real cabinet keeps it in flash across reboots
        self._queue: deque[tuple[str, str, bytes]] = deque()  # while offline
        self._held: tuple[str, str, bytes] | None = None      # a "late" message
        self._held_at = 0.0
        self._acked: dict[str, dict] = {}                     # command id → ack fields
        self._opened: deque[int] = deque()                    # doors opened by commands
        self._client: paho.Client | None = None
        self._connected = False
        self._offline = False        # disconnect() called: stay offline until reconnect()
        self._running = False
        self._thread: threading.Thread | None = None
        self._sim_now = 0.0          # simulated seconds since start
        self._started_mono = 0.0
        self._next_heartbeat = 0.0
        self._next_smoke_roll = 0.0
        self._smoke_alarm: tuple[str, float] | None = None  # (alarm id, sim time it clears)
        self._boots = 0
        self._reconnect_timer: threading.Timer | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self, *, wait: float = 10.0) -> VirtualCabinet:
        """Connect (blocking until the boot and slot snapshots are out) and start ticking."""
        self._running = True
        self._started_mono = time.monotonic()
        # The first heartbeat comes early: a boot the server missed (it was not subscribed yet)
        # must not leave the cabinet looking silent for a whole interval.
        self._next_heartbeat = time.monotonic() + min(self.heartbeat_s, 5.0)
        with self._lock:
            for slot in self.slots.values():
                self._maybe_start_charging(slot)
        self._connect(snapshots=True, wait=wait)
        if self.faults.smoke:
            self._roll_smoke()
        self._thread = threading.Thread(target=self._tick_loop, name=f"sim-{self.serial}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._running = False
        if self._reconnect_timer is not None:
            self._reconnect_timer.cancel()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        with self._lock:
            self._flush_held()
        client, self._client = self._client, None
        self._connected = False
        if client is not None:
            with contextlib.suppress(Exception):
                # Wait for QoS 1 messages in flight, then a clean DISCONNECT (no last will).
                deadline = time.monotonic() + 3
                while client.want_write() and time.monotonic() < deadline:
                    time.sleep(0.02)
                client.disconnect()
                client.loop_stop()

    def disconnect(self) -> None:
        """Drop the connection as a power or network loss would (no DISCONNECT packet, so
        the broker publishes the last will); what happens meanwhile is queued."""
        with self._lock:
            self._offline = True
            self._connected = False
            client, self._client = self._client, None
        if client is not None:
            client.loop_stop()
            sock = client.socket()
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()

    def reconnect(self, *, wait: float = 10.0) -> None:
        """Back online: boot (with the count of queued messages), then the queue in order."""
        with self._lock:
            self._offline = False
        self._connect(snapshots=False, wait=wait)

    @property
    def online(self) -> bool:
        return self._connected

    # ------------------------------------------------------------------ connection
    def _broker(self) -> tuple[str, int, bool]:
        """(host, port, tls) from the cabinet's `mqtt://host:port` (or mqtts://) URL."""
        parsed = urlparse(self.mqtt_url or "mqtt://127.0.0.1:1883")
        tls = parsed.scheme in {"mqtts", "ssl"}
        if parsed.scheme not in {"mqtt", "tcp", "mqtts", "ssl"}:
            raise ValueError(f"unsupported MQTT URL scheme: {parsed.scheme!r}")
        return parsed.hostname or "127.0.0.1", parsed.port or (8883 if tls else 1883), tls

    def _connect(self, *, snapshots: bool, wait: float) -> None:
        host, port, tls = self._broker()
        client = paho.Client(paho.CallbackAPIVersion.VERSION2,
                             client_id=f"{self.client_id}-{self._boots}", clean_session=True)
        if self.username is None:
            self.username = self.serial if self.password else ""
        if self.username:
            client.username_pw_set(self.username, self.password or None)
        if tls:
            client.tls_set()
        will = {"id": uuid.uuid4().hex, "seq": 0, "ts": self._ts(), "serial": self.serial,
                "reason": "connection_lost"}
        client.will_set(protocol.up_topic(self.serial, "will"), json.dumps(will), qos=1)
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        client.max_queued_messages_set(0)
        client.max_inflight_messages_set(100)
        booted = threading.Event()
        first = {"snapshots": snapshots}

        def on_connect(c, userdata, flags, reason_code, properties):
            if reason_code.is_failure:
                log.warning("cabinet %s: broker refused: %s", self.serial, reason_code)
                booted.set()
                return
            c.subscribe(f"cab/{self.serial}/down/#", qos=1)
            with self._lock:
                self._boot_locked(snapshots=first.pop("snapshots", False))
            booted.set()

        def on_disconnect(c, userdata, flags, reason_code, properties):
            with self._lock:
                if self._client is c:
                    self._connected = False

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_message = self._on_message
        with self._lock:
            self._client = client
        client.connect_async(host, port, keepalive=15)
        client.loop_start()
        if wait and not booted.wait(wait):
            raise ConnectionError(f"cabinet {self.serial}: no connection to {host}:{port}")

    def _boot_locked(self, *, snapshots: bool) -> None:
        """Runs in paho's thread on every CONNACK: boot first, then the offline queue."""
        self._boots += 1
        queued = list(self._queue)
        self._queue.clear()
        self._connected = True
        boot = self._message("boot", firmware=self.firmware, hardware_model="NX-SIM-12",
                             slot_count=len(self.slots), queued=len(queued))
        self._publish_now("boot", *boot)
        if snapshots:
            for slot in self.slots.values():
                self._emit_slot(slot)
        for kind, topic, payload in queued:
            self._send(kind, topic, payload)
        self._changed.notify_all()

    def _ts(self) -> int:
        return int((time.time() + self.clock_skew_s) * 1000)

    def _message(self, kind: str, /, **body) -> tuple[str, bytes]:
        self._seq += 1
        data = {"id": uuid.uuid4().hex, "seq": self._seq, "ts": self._ts(),
                "serial": self.serial, **body}
        # The simulator must never put an invalid message on the wire by accident.
        protocol.UP_KINDS[kind].model_validate(data)
        return protocol.up_topic(self.serial, kind), json.dumps(data).encode()

    def _emit(self, kind: str, /, **body) -> dict:
        topic, payload = self._message(kind, **body)
        self._send(kind, topic, payload)
        return json.loads(payload)

    def _send(self, kind: str, topic: str, payload: bytes) -> None:
        if not self._connected or self._offline:
            self._queue.append((kind, topic, payload))
            return
        if self._held is None and self.faults.late and self.rng.random() < self.faults.late:
            self._held, self._held_at = (kind, topic, payload), time.monotonic()
            return
        self._publish_now(kind, topic, payload)
        if self.faults.duplicate and self.rng.random() < self.faults.duplicate:
            self._publish_now(kind, topic, payload)
        self._flush_held()

    def _flush_held(self) -> None:
        if self._held is not None and self._connected and not self._offline:
            held, self._held = self._held, None
            self._publish_now(*held)

    def _publish_now(self, kind: str, topic: str, payload: bytes) -> None:
        client = self._client
        if client is None:
            self._queue.append((kind, topic, payload))
            return
        client.publish(topic, payload, qos=1)
        self.sent.append(Sent(kind, topic, json.loads(payload)))

    def _emit_slot(self, slot: SimSlot, cmd: str | None = None) -> dict:
        return self._emit("slot", slot=slot.number, cmd=cmd,
                          door="closed" if slot.door == "closed" else "open",
                          enabled=slot.enabled, charging=slot.charging,
                          battery=None if slot.battery is None or slot.unread
                          else slot.battery.serial,
                          unread=slot.unread)

    # ------------------------------------------------------------------ commands
    def _on_message(self, client, userdata, msg) -> None:
        kind = msg.topic.rsplit("/", 1)[-1]
        try:
            data = json.loads(msg.payload)
            cmd_id = str(data["id"])
        except (ValueError, KeyError, TypeError):
            log.warning("cabinet %s: unreadable command on %s", self.serial, msg.topic)
            return
        with self._lock:
            self.commands.append({"kind": kind, **data})
            if cmd_id in self._acked:  # a redelivered command: answer again, do nothing twice
                self._emit("ack", cmd=cmd_id, **self._acked[cmd_id])
                return
            try:
                result = self._execute(kind, data, cmd_id)
            except (KeyError, TypeError, ValueError):
                result = {"result": "error", "error": "bad_command"}
            self._acked[cmd_id] = result
            if result is not None and not result.pop("_sent", False):
                self._emit("ack", cmd=cmd_id, **result)
            self._changed.notify_all()

    def _execute(self, kind: str, data: dict, cmd_id: str) -> dict | None:
        ok = {"result": "ok", "error": ""}
        if kind == "open_door":
            return self._open_door(int(data["slot"]), data, cmd_id)
        if kind == "slot":
            slot = self.slots.get(int(data["slot"]))
            if slot is None:
                return {"result": "error", "error": "no_such_slot"}
            slot.enabled = bool(data["enabled"])
            if not slot.enabled:
                self._stop_charging(slot)
            else:
                self._maybe_start_charging(slot)
            self._emit("ack", cmd=cmd_id, **ok)
            self._emit_slot(slot, cmd_id)
            return {**ok, "_sent": True}
        if kind == "cabinet":
            self.enabled = bool(data["enabled"])
            for slot in self.slots.values():
                if not self.enabled:
                    self._stop_charging(slot)
                else:
                    self._maybe_start_charging(slot)
            return ok
        if kind == "charging":
            slot = self.slots.get(int(data["slot"]))
            if slot is None:
                return {"result": "error", "error": "no_such_slot"}
            if bool(data["on"]):
                slot.charging_blocked = False
                if slot.battery is None:
                    return {"result": "error", "error": "empty_slot"}
                self._maybe_start_charging(slot)
            else:
                slot.charging_blocked = True
                self._stop_charging(slot)
            self._emit("ack", cmd=cmd_id, **ok)
            self._emit_slot(slot, cmd_id)
            return {**ok, "_sent": True}
        if kind == "threshold":
            pct = int(data["full_pct"])
            if not 50 <= pct <= 100:
                return {"result": "error", "error": "out_of_range"}
            self.full_pct = pct
            for slot in self.slots.values():
                if slot.charging and slot.battery and slot.battery.soc >= pct:
                    self._stop_charging(slot)
                else:
                    self._maybe_start_charging(slot)
            return ok
        return {"result": "error", "error": "unknown_command"}

    def _open_door(self, number: int, data: dict, cmd_id: str) -> dict:
        slot = self.slots.get(number)
        if slot is None:
            return {"result": "error", "error": "no_such_slot"}
        if not self.enabled:
            return {"result": "error", "error": "cabinet_disabled"}
        if not slot.enabled:
            return {"result": "error", "error": "slot_disabled"}
        if slot.door == "jammed":
            return {"result": "error", "error": "door_jam"}
        if slot.door == "open":
            return {"result": "ok", "error": ""}
        if self.faults.door_jam and self.rng.random() < self.faults.door_jam:
            slot.door = "jammed"
            self._emit("ack", cmd=cmd_id, result="error", error="door_jam")
            self._emit("door", slot=number, event="jammed", cmd=cmd_id)
            self._emit("alarm", alarm_id=uuid.uuid4().hex[:16], kind="door_jam", state="start",
                       slot=number)
            return {"result": "error", "error": "door_jam", "_sent": True}
        slot.door = "open"
        slot.opened_by = cmd_id
        self._stop_charging(slot, report=False)  # a battery behind an open door is not charged
        self._emit("ack", cmd=cmd_id, result="ok", error="")
        self._emit("door", slot=number, event="opened", cmd=cmd_id)
        self._opened.append(number)
        if self.hands is not None:
            threading.Thread(target=self._call_hands, args=(number, dict(data)),
                             daemon=True).start()
        if self.faults.disconnect_mid_swap and self.rng.random() < self.faults.disconnect_mid_swap:
            # Let paho flush the door event first, then drop the line from another thread.
            def drop_and_return() -> None:
                time.sleep(0.3)
                self.disconnect()
                self._reconnect_timer = threading.Timer(self.reconnect_after_s,
                                                        self._timed_reconnect)
                self._reconnect_timer.daemon = True
                self._reconnect_timer.start()

            threading.Thread(target=drop_and_return, daemon=True).start()
        return {"result": "ok", "error": "", "_sent": True}

    def _timed_reconnect(self) -> None:
        if self._running:
            try:
                self.reconnect()
            except ConnectionError:
                log.warning("cabinet %s: reconnect failed", self.serial)

    def _call_hands(self, number: int, command: dict) -> None:
        try:
            self.hands(self, number, command)
        except Exception:  # noqa: BLE001 - a demo rider's mistake must not kill the cabinet
            log.exception("cabinet %s: simulated rider failed at slot %s", self.serial, number)

    # ------------------------------------------------------------------ a rider's hands
    def wait_door_open(self, timeout: float = 10) -> int | None:
        """The next door opened by a command (oldest first), or None after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not self._opened:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)
            return self._opened.popleft()

    def insert_battery(self, slot: int, serial: str, *, unread: bool = False,
                       soc: float = 20.0, soh: float = 96.0) -> dict:
        """Put a battery into the open door of `slot` and close it; returns the door event."""
        with self._lock:
            s = self._open_slot(slot)
            if s.battery is not None:
                raise RuntimeError(f"slot {slot} is not empty")
            s.battery = SimBattery(serial, soc, soh, capacity_ah=self.capacity_ah,
                                   rated_voltage_v=self.rated_voltage_v,
                                   chemistry=self.chemistry, temp_c=self.ambient_c + 3)
            if not unread and self.faults.battery_unread:
                unread = self.rng.random() < self.faults.battery_unread
            s.unread = unread
            return self._close(s)

    def take_battery(self, slot: int) -> str:
        """Take the battery out of the open door of `slot` and close it; returns its serial."""
        with self._lock:
            s = self._open_slot(slot)
            if s.battery is None:
                raise RuntimeError(f"slot {slot} is empty")
            taken, s.battery, s.unread = s.battery.serial, None, False
            self._close(s)
            return taken

    def close_door(self, slot: int) -> dict:
        with self._lock:
            return self._close(self._open_slot(slot))

    def _open_slot(self, number: int) -> SimSlot:
        s = self.slots[number]
        if s.door != "open":
            raise RuntimeError(f"door {number} is {s.door}")
        return s

    def _close(self, s: SimSlot) -> dict:
        s.door = "closed"
        cmd, s.opened_by = s.opened_by, None
        event = self._emit("door", slot=s.number, event="closed", cmd=cmd,
                           battery=None if s.battery is None or s.unread else s.battery.serial,
                           unread=bool(s.battery is not None and s.unread))
        if s.battery is not None and not s.unread:
            self._maybe_start_charging(s)
        self._changed.notify_all()
        return event

    def raise_alarm(self, kind: str, slot: int | None = None, value: float | None = None, *,
                    state: str = "start", alarm_id: str | None = None) -> str:
        """Report an alarm as the cabinet's sensors would; returns its alarm id."""
        with self._lock:
            alarm_id = alarm_id or uuid.uuid4().hex[:16]
            s = self.slots.get(slot) if slot is not None else None
            battery = s.battery.serial if s is not None and s.battery is not None else None
            self._emit("alarm", alarm_id=alarm_id, kind=kind, state=state, slot=slot,
                       battery=battery, value=value)
            return alarm_id

    # ------------------------------------------------------------------ physics
    def _maybe_start_charging(self, slot: SimSlot) -> None:
        b = slot.battery
        if (b is None or slot.charging or slot.charging_blocked or not slot.enabled
                or not self.enabled or slot.door != "closed" or slot.unread or slot.alarm_id
                or b.temp_c >= CUTOFF_C):
            return
        if b.soc >= self.full_pct:
            return
        slot.charging = True
        slot.telemetry_due = self._sim_now
        if self.faults.over_temperature and self.rng.random() < self.faults.over_temperature:
            b.overheating = True

    def _stop_charging(self, slot: SimSlot, *, report: bool = False) -> None:
        if slot.charging:
            slot.charging = False
            if slot.battery is not None:
                slot.battery.current_a = 0.0
            if report:
                self._emit_slot(slot)

    def charge_current(self, b: SimBattery) -> float:
        """CC-CV: constant current to 80 %, then (voltage held) a current falling with the
        square of the charge still missing, so the last points take the longest."""
        capacity = b.capacity_ah * max(b.soh, 1.0) / 100.0
        cc = CC_C_RATE * capacity
        if b.soc < CC_END_PCT:
            return cc
        return max(TAPER_FLOOR_A, cc * ((100.0 - b.soc) / (100.0 - CC_END_PCT)) ** 2)

    def advance(self, sim_seconds: float) -> None:
        """Move the simulated world forward (the tick thread calls this; tests may too)."""
        with self._lock:
            remaining = sim_seconds
            while remaining > 0:
                dt = min(remaining, 10.0)
                remaining -= dt
                self._sim_now += dt
                for slot in self.slots.values():
                    self._step(slot, dt)
                self._check_smoke()

    def _step(self, slot: SimSlot, dt: float) -> None:
        b = slot.battery
        if b is None:
            return
        if slot.charging:
            b.current_a = self.charge_current(b)
            capacity = b.capacity_ah * max(b.soh, 1.0) / 100.0
            gained = b.current_a * dt / 3600.0
            b.charge_ah += gained
            dsoc = 100.0 * gained / capacity
            b.soc = min(100.0, b.soc + dsoc)
            before = int(b.cycles)
            b.cycles += dsoc / 100.0
            if int(b.cycles) > before:  # one more equivalent full cycle: a little older
                loss = SOH_LOSS_PER_CYCLE * (3.0 if b.temp_c > HOT_C else 1.0)
                b.soh = max(0.0, b.soh - loss)
            target = (OVERHEAT_TARGET_C if b.overheating
                      else self.ambient_c + HEAT_PER_A * b.current_a)
            if b.soc >= self.full_pct:
                self._stop_charging(slot, report=True)
                self._telemetry(slot)
        else:
            b.current_a = 0.0
            target = self.ambient_c
        b.temp_c += (target - b.temp_c) * (1.0 - math.exp(-dt / THERMAL_TAU_S))
        if b.temp_c >= CUTOFF_C and not slot.alarm_id:
            slot.alarm_id = uuid.uuid4().hex[:16]
            self._stop_charging(slot)
            self._emit("alarm", alarm_id=slot.alarm_id, kind="over_temperature", state="start",
                       slot=slot.number, battery=b.serial, value=round(b.temp_c, 1))
            self._telemetry(slot)
            self._emit_slot(slot)
        elif slot.alarm_id and b.temp_c < COOLED_C:
            self._emit("alarm", alarm_id=slot.alarm_id, kind="over_temperature", state="end",
                       slot=slot.number, battery=b.serial, value=round(b.temp_c, 1))
            slot.alarm_id = ""
            b.overheating = False
        if self._sim_now >= slot.telemetry_due:
            self._telemetry(slot)

    def _telemetry(self, slot: SimSlot) -> None:
        b = slot.battery
        if b is None or slot.unread:
            return
        slot.telemetry_due = self._sim_now + (60.0 if slot.charging else 300.0)
        mv = b.cell_mv()
        spread = 8 + int((100.0 - b.soh) * 2)  # aged packs drift apart
        self._emit("telemetry", slot=slot.number, battery=b.serial,
                   voltage_v=round(b.cells * mv / 1000.0, 2),
                   current_a=round(b.current_a, 2), soc_pct=round(b.soc, 2),
                   soh_pct=round(b.soh, 2), cycle_count=int(b.cycles),
                   cell_min_mv=mv - spread, cell_max_mv=mv + spread // 2,
                   cell_temp_c=round(b.temp_c, 1), ambient_c=self.ambient_c,
                   charge_ah=round(b.charge_ah, 3))

    def _roll_smoke(self) -> None:
        with self._lock:
            if self._smoke_alarm is None and self.rng.random() < self.faults.smoke:
                alarm_id = uuid.uuid4().hex[:16]
                self._smoke_alarm = (alarm_id, self._sim_now + SMOKE_CLEARS_S)
                self._emit("alarm", alarm_id=alarm_id, kind="smoke", state="start")
            self._next_smoke_roll = self._sim_now + 3600.0

    def _check_smoke(self) -> None:
        if self._smoke_alarm is not None and self._sim_now >= self._smoke_alarm[1]:
            self._emit("alarm", alarm_id=self._smoke_alarm[0], kind="smoke", state="end")
            self._smoke_alarm = None
        if self.faults.smoke and self._sim_now >= self._next_smoke_roll:
            self._roll_smoke()

    def _tick_loop(self) -> None:
        last = time.monotonic()
        while self._running:
            time.sleep(0.2)
            now = time.monotonic()
            try:
                self.advance((now - last) * self.speed)
                with self._lock:
                    if self._held is not None and now - self._held_at > 1.0:
                        self._flush_held()
                    if now >= self._next_heartbeat:
                        self._next_heartbeat = now + self.heartbeat_s
                        if self._connected and not self._offline:  # not worth queueing
                                self._emit("heartbeat", uptime_s=int(now - self._started_mono),
                                       ambient_c=self.ambient_c)
            except Exception:  # noqa: BLE001 - keep the cabinet alive, say what went wrong
                log.exception("cabinet %s: tick failed", self.serial)
            last = now

    # ------------------------------------------------------------------ inspection
    def battery(self, serial: str) -> SimBattery | None:
        with self._lock:
            for slot in self.slots.values():
                if slot.battery is not None and slot.battery.serial == serial:
                    return slot.battery
        return None

    def sent_of(self, kind: str) -> list[dict]:
        with self._lock:
            return [s.payload for s in self.sent if s.kind == kind]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10) -> bool:
        """Wait until `predicate()` (called under the cabinet's lock) holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if predicate():
                    return True
            time.sleep(0.02)
        return False


class Simulation:
    """A set of virtual cabinets run together (`nuanxin.energy.simulate` builds one that
    mirrors cabinets of the database)."""

    def __init__(self, cabinets: list[VirtualCabinet]) -> None:
        self.cabinets = cabinets

    def start(self) -> Simulation:
        for cabinet in self.cabinets:
            cabinet.start()
        return self

    def stop(self) -> None:
        # In parallel: each stop waits for paho's network thread (up to a second).
        threads = [threading.Thread(target=c.stop, daemon=True) for c in self.cabinets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(15)

    def run(self, seconds: float = 0, *, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        self.start()
        try:
            stop.wait(seconds if seconds > 0 else None)
        finally:
            self.stop()


def demo_hands(cabinet: VirtualCabinet, slot: int, command: dict) -> None:
    """A demo rider at the cabinet: a few seconds after a door opens for a swap, takes the
    battery out of a full slot, or puts into an empty one the battery the command says the
    rider brings (`battery`), or just shuts the door if it names none."""
    time.sleep(4.0)
    with cabinet._lock:
        s = cabinet.slots[slot]
        if s.door != "open":
            return
        occupied = s.battery is not None
    if occupied:
        cabinet.take_battery(slot)
    elif command.get("battery"):
        cabinet.insert_battery(slot, str(command["battery"]))
    else:
        cabinet.close_door(slot)

"""The ingester against the real Mosquitto: what cabinets report reaches the database
once, in order, and nothing a bad message says is believed.

Each test subscribes only to its own cabinets' topics (serials carry the run tag), so
tests of other runs on the same broker never interfere.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from nuanxin.energy.ingest import Ingester
from nuanxin.energy.models import (
    Battery,
    BatteryStatus,
    Cabinet,
    CustodyEntry,
    DeviceMessage,
    IngestRejection,
    Slot,
)
from nuanxin.energy.mqtt import mqtt_client
from nuanxin.energy.services import device
from tests.factories import energy as f

pytestmark = pytest.mark.django_db(transaction=True)


# --------------------------------------------------------------------------- helpers
class FakeCabinet:
    """Publishes as a cabinet would: its own topics, ids, increasing seq, its clock."""

    def __init__(self, serial: str, *, skew_s: float = 0.0, start_seq: int = 1) -> None:
        self.serial = serial
        self.skew_s = skew_s
        self._seq = itertools.count(start_seq)
        self.client = mqtt_client(f"test-cab-{serial}-{uuid.uuid4().hex[:6]}")
        self.client.loop_start()

    def message(self, kind: str, *, seq: int | None = None, ts: float | None = None,
                **fields) -> dict:
        body = {"id": uuid.uuid4().hex, "seq": next(self._seq) if seq is None else seq,
                "ts": int(((ts or time.time()) + self.skew_s) * 1000), "serial": self.serial}
        body.update(fields)
        return body

    def send(self, kind: str, **fields) -> dict:
        body = self.message(kind, **fields)
        self.publish(kind, body)
        return body

    def publish(self, kind: str, body, topic: str | None = None) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        info = self.client.publish(topic or f"cab/{self.serial}/up/{kind}", raw, qos=1)
        info.wait_for_publish(5)

    def telemetry(self, battery: str, slot: int, **over) -> dict:
        fields = {"slot": slot, "battery": battery, "voltage_v": 52.1, "current_a": 0.0,
                  "soc_pct": 80.0, "cell_min_mv": 3300, "cell_max_mv": 3350,
                  "cell_temp_c": 31.5, "ambient_c": 24.0, "charge_ah": 100.0}
        fields.update(over)
        return self.send("telemetry", **fields)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def ingest():
    """ingest(*serials, **kw) -> a started Ingester listening to those cabinets only."""
    started: list[Ingester] = []

    def make(*serials: str, group: str | None = None, **kwargs) -> Ingester:
        kwargs.setdefault("batch_ms", 20)
        kwargs.setdefault("housekeeping", False)
        ingester = Ingester(client_id=f"test-ingest-{uuid.uuid4().hex[:10]}", group=group,
                            topics=[f"cab/{s}/up/#" for s in serials], **kwargs)
        started.append(ingester.start())
        return ingester

    yield make
    for ingester in started:
        ingester.stop()
    device._default_directory.forget()


@pytest.fixture
def cabinets():
    made: list[FakeCabinet] = []

    def make(serial: str, **kwargs) -> FakeCabinet:
        made.append(FakeCabinet(serial, **kwargs))
        return made[-1]

    yield make
    for cab in made:
        cab.close()


def first_battery(cabinet: Cabinet) -> Battery:
    return Battery.objects.select_related("slot").filter(slot__cabinet=cabinet).order_by(
        "slot__number").first()


# --------------------------------------------------------------------------- telemetry
def test_telemetry_updates_the_battery(regions, ingest, cabinets):
    cab = f.cabinet(full=1, charging=0)
    bat = first_battery(cab)
    ingester = ingest(cab.serial)
    dev = cabinets(cab.serial)
    dev.telemetry(bat.serial, bat.slot.number, soc_pct=97.5, voltage_v=53.4, current_a=1.2,
                  cell_temp_c=33.0, charge_ah=250.0, cycle_count=7)
    assert ingester.wait_idle(10)
    bat.refresh_from_db()
    assert bat.soc_pct == 97.5
    assert bat.voltage_v == 53.4
    assert bat.cell_temp_c == 33.0
    assert bat.charge_ah_total == 250.0
    assert bat.cycle_count == 10  # 250 Ah of a 24 Ah battery: 10 full cycles (> the BMS's 7)
    assert bat.last_telemetry_at is not None
    assert ingester.stats.telemetry == 1
    assert not IngestRejection.objects.exists()


def test_same_message_twice_is_applied_once(regions, ingest, cabinets):
    cab = f.cabinet(full=1, charging=0)
    bat = first_battery(cab)
    ingester = ingest(cab.serial)
    dev = cabinets(cab.serial)
    body = dev.message("telemetry", slot=bat.slot.number, battery=bat.serial, voltage_v=52.0,
                       current_a=0.0, soc_pct=91.0, cell_min_mv=3300, cell_max_mv=3310,
                       cell_temp_c=30.0, charge_ah=48.0)
    dev.publish("telemetry", body)
    assert ingester.wait_idle(10)
    # A QoS 1 redelivery: same id; meanwhile the battery changed (a later reading).
    Battery.objects.filter(pk=bat.pk).update(soc_pct=50.0)
    dev.publish("telemetry", body)
    assert ingester.wait_idle(10)
    bat.refresh_from_db()
    assert bat.soc_pct == 50.0  # the replay did not overwrite it
    assert DeviceMessage.objects.filter(cabinet=cab, msg_id=body["id"]).count() == 1
    assert list(IngestRejection.objects.values_list("reason", "serial")) == [
        ("duplicate", cab.serial)]
    assert ingester.stats.rejected["duplicate"] == 1


def test_a_duplicate_door_event_is_applied_once(regions, ingest, cabinets):
    cab = f.cabinet(full=0, charging=0, slots=4)
    ingester = ingest(cab.serial)
    dev = cabinets(cab.serial)
    opened = dev.message("door", slot=2, event="opened")
    dev.publish("door", opened)
    assert ingester.wait_idle(10)
    assert Slot.objects.get(cabinet=cab, number=2).door_open
    Slot.objects.filter(cabinet=cab, number=2).update(door_open=False, status_seq=-1)
    dev.publish("door", opened)
    assert ingester.wait_idle(10)
    assert not Slot.objects.get(cabinet=cab, number=2).door_open
    assert IngestRejection.objects.filter(reason="duplicate").count() == 1


def test_older_telemetry_never_overwrites_newer(regions, ingest, cabinets):
    cab = f.cabinet(full=1, charging=0)
    bat = first_battery(cab)
    ingester = ingest(cab.serial)
    dev = cabinets(cab.serial)
    dev.telemetry(bat.serial, bat.slot.number, seq=10, soc_pct=88.0)
    assert ingester.wait_idle(10)
    dev.telemetry(bat.serial, bat.slot.number, seq=9, soc_pct=70.0)  # late
    assert ingester.wait_idle(10)
    bat.refresh_from_db()
    assert bat.soc_pct == 88.0
    assert bat.telemetry_seq == 10
    assert ingester.stats.stale == 1


def test_slot_snapshots_apply_in_seq_order(regions, ingest, cabinets):
    cab = f.cabinet(full=1, charging=0, slots=4)
    bat = first_battery(cab)
    ingester = ingest(cab.serial)
    dev = cabinets(cab.serial)
    # seq 5 says charging, then the older seq 4 (sent earlier, delivered late) says not.
    dev.send("slot", seq=5, slot=bat.slot.number, door="closed", enabled=True, charging=True,
             battery=bat.serial)
    dev.send("slot", seq=4, slot=bat.slot.number, door="open", enabled=True, charging=False,
             battery=bat.serial)
    assert ingester.wait_idle(10)
    slot = Slot.objects.get(pk=bat.slot_id)
    assert slot.charging is True
    assert slot.door_open is False
    assert slot.status_seq == 5
    assert Cabinet.objects.get(pk=cab.pk).last_seq == 5
    bat.refresh_from_db()
    assert bat.slot_id == slot.pk  # the snapshot agreed with the ledger: nothing moved


def test_events_in_one_batch_are_applied_in_seq_order(regions, ingest, cabinets):
    cab = f.cabinet(full=0, charging=0, slots=4)
    dev = cabinets(cab.serial)
    # Published before the ingester runs: it receives them together, closed (seq 8) first.
    closed = dev.message("door", seq=8, slot=3, event="closed")
    opened = dev.message("door", seq=7, slot=3, event="opened")
    items = [device.Incoming(f"cab/{cab.serial}/up/door", json.dumps(b).encode(),
                             timezone.now()) for b in (closed, opened)]
    device.ingest_batch(items)
    slot = Slot.objects.get(cabinet=cab, number=3)
    assert slot.door_open is False  # closed (8) is the later event, whatever arrived first
    assert slot.status_seq == 8


def test_snapshot_reconciles_a_battery_found_in_a_slot(regions, ingest, cabinets):
    cab = f.cabinet(full=0, charging=0, slots=4)
    stray = f.battery(op=cab.operator)  # at the depot, per the ledger
    ingester = ingest(cab.serial)
    dev = cabinets(cab.serial)
    dev.send("slot", slot=2, door="closed", enabled=True, charging=False,
             battery=stray.serial)
    assert ingester.wait_idle(10)
    stray.refresh_from_db()
    assert stray.slot == Slot.objects.get(cabinet=cab, number=2)
    entry = CustodyEntry.objects.filter(battery=stray).last()
    assert entry.action == "energy.battery.found_in_slot"
    # Its telemetry counts from this cabinet's sequence on.
    assert stray.telemetry_seq >= 1


# --------------------------------------------------------------------------- liveness
def test_boot_and_heartbeat_record_liveness_and_clock_skew(regions, ingest, cabinets):
    cab = f.cabinet(full=0, charging=0, online=False)
    ingester = ingest(cab.serial)
    dev = cabinets(cab.serial, skew_s=-300.0)  # its clock runs five minutes slow
    dev.send("boot", firmware="2.3.1", hardware_model="TT-12", slot_count=12)
    assert ingester.wait_idle(10)
    cab.refresh_from_db()
    assert cab.online is True
    assert cab.firmware == "2.3.1"
    assert cab.clock_offset_s == pytest.approx(-300, abs=5)
    first = cab.last_heartbeat_at
    dev.send("heartbeat", uptime_s=30)
    assert ingester.wait_idle(10)
    cab.refresh_from_db()
    assert cab.last_heartbeat_at > first
    assert cab.clock_offset_s == pytest.approx(-300, abs=5)


def test_silence_marks_a_cabinet_offline_and_a_heartbeat_brings_it_back(
        regions, ingest, cabinets, settings):
    settings.ENERGY_OFFLINE_AFTER_S = 1
    cab = f.cabinet(full=0, charging=0)
    quiet = f.cabinet(full=0, charging=0)
    ingester = ingest(cab.serial)
    dev = cabinets(cab.serial)
    dev.send("heartbeat", uptime_s=10)
    assert ingester.wait_idle(10)
    time.sleep(1.2)
    dev.send("heartbeat", uptime_s=11)  # cab keeps talking, `quiet` doesn't
    assert ingester.wait_idle(10)
    assert device.cabinets_sweep_offline() == 1
    assert Cabinet.objects.get(pk=cab.pk).online is True
    assert Cabinet.objects.get(pk=quiet.pk).online is False
    assert quiet.alarms.filter(kind="offline").count() == 1
    time.sleep(1.2)
    assert device.cabinets_sweep_offline() == 1
    assert Cabinet.objects.get(pk=cab.pk).online is False
    dev.send("heartbeat", uptime_s=13)
    assert ingester.wait_idle(10)
    assert Cabinet.objects.get(pk=cab.pk).online is True
    assert cab.alarms.get(kind="offline").cleared_at is not None


def test_the_ingest_loop_sweeps_on_its_own(regions, ingest, cabinets, settings):
    settings.ENERGY_OFFLINE_AFTER_S = 1
    cab = f.cabinet(full=0, charging=0)
    Cabinet.objects.filter(pk=cab.pk).update(
        last_heartbeat_at=timezone.now() - timedelta(seconds=5))
    ingest(cab.serial, housekeeping=True)
    deadline = time.monotonic() + 10
    while Cabinet.objects.get(pk=cab.pk).online and time.monotonic() < deadline:
        time.sleep(0.2)
    assert Cabinet.objects.get(pk=cab.pk).online is False


def test_last_will_marks_offline_at_once(regions, ingest, cabinets):
    cab = f.cabinet(full=0, charging=0)
    ingester = ingest(cab.serial)
    will_client = mqtt_client(f"test-will-{uuid.uuid4().hex[:8]}",
                              will=(f"cab/{cab.serial}/up/will", b'{"reason":"lost"}'))
    # Drop the connection without DISCONNECT (no network loop runs to reconnect): the
    # broker publishes the will.
    will_client.socket().close()
    deadline = time.monotonic() + 10
    while Cabinet.objects.get(pk=cab.pk).online and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ingester.wait_idle(5)
    assert Cabinet.objects.get(pk=cab.pk).online is False


def test_queued_messages_after_a_reconnect_are_accepted(regions, ingest, cabinets, settings):
    cab = f.cabinet(full=1, charging=0, slots=4, online=False)
    bat = first_battery(cab)
    ingester = ingest(cab.serial)
    dev = cabinets(cab.serial, start_seq=100)
    Cabinet.objects.filter(pk=cab.pk).update(last_seq=99)
    # Back online: boot first, then what it queued while cut off, with their old times.
    dev.send("boot", firmware="2.3.1", slot_count=4, queued=3)
    long_ago = time.time() - 600
    dev.telemetry(bat.serial, bat.slot.number, ts=long_ago, soc_pct=93.0)
    dev.send("door", ts=long_ago + 1, slot=4, event="opened")
    dev.send("door", ts=long_ago + 5, slot=4, event="closed")
    dev.telemetry(bat.serial, bat.slot.number, ts=long_ago + 60, soc_pct=94.0)
    assert ingester.wait_idle(10)
    cab.refresh_from_db()
    assert cab.online is True
    assert cab.last_seq == 104
    assert cab.clock_offset_s == pytest.approx(0, abs=5)  # from the boot, not the old ones
    bat.refresh_from_db()
    assert bat.soc_pct == 94.0
    slot4 = Slot.objects.get(cabinet=cab, number=4)
    assert slot4.door_open is False and slot4.status_seq == 103
    assert DeviceMessage.objects.filter(cabinet=cab).count() == 5
    assert not IngestRejection.objects.exists()


# --------------------------------------------------------------------------- refusals
def test_bad_messages_are_rejected_counted_and_change_nothing(regions, ingest, cabinets):
    cab = f.cabinet(full=1, charging=0, slots=4)
    other = f.cabinet(full=0, charging=0, slots=4)
    bat = first_battery(cab)
    before = Battery.objects.values().get(pk=bat.pk)
    unknown_serial = f.serial("CAB")
    ingester = ingest(cab.serial, unknown_serial)
    dev = cabinets(cab.serial)
    good = {"slot": bat.slot.number, "battery": bat.serial, "voltage_v": 52.0,
            "current_a": 0.0, "soc_pct": 60.0, "cell_min_mv": 3300, "cell_max_mv": 3310,
            "cell_temp_c": 30.0, "charge_ah": 48.0}
    dev.publish("telemetry", b"{not json")
    dev.publish("telemetry", dev.message("telemetry", **{**good, "soc_pct": 150.0}))
    dev.publish("telemetry", dev.message("telemetry", **{**good, "cell_min_mv": 3400}))
    dev.publish("telemetry", dev.message("telemetry", **{**good, "slot": 13}))  # 12 slots
    dev.publish("telemetry", dev.message("telemetry", **{**good, "battery": "BAT-NOPE-1"}))
    # Speaking for another cabinet (the broker's ACL stops this in production).
    dev.publish("telemetry", {**dev.message("telemetry", **good), "serial": other.serial})
    dev.publish("gossip", dev.message("gossip"))
    stranger = FakeCabinet(unknown_serial)
    stranger.send("heartbeat", uptime_s=5)
    stranger.close()
    assert ingester.wait_idle(10)
    reasons = sorted(IngestRejection.objects.values_list("reason", flat=True))
    assert reasons == ["impossible_value", "impossible_value", "malformed", "malformed",
                       "serial_mismatch", "unknown_battery", "unknown_cabinet",
                       "unknown_kind"]
    assert sum(ingester.stats.rejected.values()) == 8
    assert IngestRejection.objects.get(reason="unknown_cabinet").serial == unknown_serial
    assert Battery.objects.values().get(pk=bat.pk) == before
    assert not DeviceMessage.objects.filter(cabinet=other).exists()
    assert Cabinet.objects.get(pk=other.pk).last_seq == -1


# --------------------------------------------------------------------------- scale-out
def test_two_ingesters_share_the_load_and_apply_each_message_once(regions, ingest, cabinets):
    cab = f.cabinet(full=6, charging=0)
    batteries = list(Battery.objects.filter(slot__cabinet=cab).select_related("slot"))
    group = f"test-{uuid.uuid4().hex[:8]}"
    first = ingest(cab.serial, group=group)
    second = ingest(cab.serial, group=group)
    dev = cabinets(cab.serial)
    sent = 0
    for round_no in range(25):
        for bat in batteries:
            dev.telemetry(bat.serial, bat.slot.number, soc_pct=50.0 + round_no)
            sent += 1
    assert first.wait_idle(15) and second.wait_idle(15)
    assert first.stats.received > 0 and second.stats.received > 0
    assert first.stats.received + second.stats.received == sent
    assert DeviceMessage.objects.filter(cabinet=cab).count() == sent
    for bat in batteries:
        bat.refresh_from_db()
        assert bat.soc_pct == 74.0
    assert not IngestRejection.objects.exists()


def test_telemetry_batches_are_written_with_few_queries(regions, django_assert_max_num_queries):
    cab = f.cabinet(full=12, charging=0)
    batteries = list(Battery.objects.filter(slot__cabinet=cab).select_related("slot"))
    now = timezone.now()
    items = []
    for n, bat in enumerate(batteries * 20):
        body = {"id": uuid.uuid4().hex, "seq": n + 1, "ts": int(time.time() * 1000),
                "serial": cab.serial, "slot": bat.slot.number, "battery": bat.serial,
                "voltage_v": 52.0, "current_a": 0.0, "soc_pct": 99.0, "cell_min_mv": 3300,
                "cell_max_mv": 3310, "cell_temp_c": 30.0, "charge_ah": 1.0}
        items.append(device.Incoming(f"cab/{cab.serial}/up/telemetry",
                                     json.dumps(body).encode(), now))
    stats = device.IngestStats()
    # A constant number whatever the batch size (PostgreSQL adds its lock and commit mode).
    with django_assert_max_num_queries(15):
        device.ingest_batch(items, stats=stats, directory=device.CabinetDirectory())
    assert stats.telemetry == 240
    assert DeviceMessage.objects.filter(cabinet=cab).count() == 240
    assert set(Battery.objects.filter(slot__cabinet=cab).values_list("telemetry_seq",
                                                                      flat=True)) == set(
        range(229, 241))


def test_a_charged_battery_becomes_full_through_the_ledger(regions, ingest, cabinets):
    cab = f.cabinet(full=0, charging=1, slots=4)
    bat = Battery.objects.select_related("slot").get(slot__cabinet=cab)
    assert bat.status == BatteryStatus.CHARGING
    ingester = ingest(cab.serial)
    dev = cabinets(cab.serial)
    dev.telemetry(bat.serial, bat.slot.number, soc_pct=96.0, current_a=0.5)
    assert ingester.wait_idle(10)
    bat.refresh_from_db()
    assert bat.status == BatteryStatus.FULL
    assert CustodyEntry.objects.filter(battery=bat).last().action == "energy.battery.charged_full"
    from nuanxin.energy.services.custody import ledger_verify

    assert ledger_verify() == []


def test_over_temperature_telemetry_raises_the_alarm_once(regions, ingest, cabinets):
    cab = f.cabinet(full=1, charging=0, slots=4)
    bat = first_battery(cab)
    ingester = ingest(cab.serial)
    dev = cabinets(cab.serial)
    dev.telemetry(bat.serial, bat.slot.number, cell_temp_c=72.0)
    assert ingester.wait_idle(10)
    dev.telemetry(bat.serial, bat.slot.number, cell_temp_c=74.0)
    assert ingester.wait_idle(10)
    alarms = list(cab.alarms.filter(kind="over_temperature"))
    assert len(alarms) == 1
    assert alarms[0].battery_id == bat.pk and alarms[0].value == 72.0
    bat.refresh_from_db()
    assert bat.status == BatteryStatus.QUARANTINED


def test_stop_and_wait_idle_are_safe_with_nothing_received(regions, ingest):
    cab = f.cabinet(full=0, charging=0)
    ingester = ingest(cab.serial)
    assert ingester.wait_idle(2)
    worker = ingester._worker
    ingester.stop()
    ingester.stop()
    assert not worker.is_alive()


def test_mqtt_client_refuses_a_dead_broker(settings):
    with pytest.raises((ConnectionError, OSError)):
        mqtt_client("test-dead", url="mqtt://127.0.0.1:1", timeout=2)


def test_a_telemetry_batch_and_a_swap_step_never_deadlock(regions):
    """A swap step holds its cabinet, then writes a battery; a telemetry batch for that
    battery arrives meanwhile. On PostgreSQL the batch must queue behind the cabinet rather
    than hold the battery and wait for the cabinet at COMMIT (a deadlock, broken after 1 s
    by aborting one of them)."""
    from django.db import connection, transaction

    from nuanxin.energy import locking

    cab = f.cabinet(full=1, charging=0, slots=4)
    bat = first_battery(cab)
    holding = threading.Event()
    errors: list[BaseException] = []

    def swap_step() -> None:
        try:
            with transaction.atomic():
                locking.lock_cabinet(cab.pk)
                holding.set()
                time.sleep(0.4)  # the batch starts meanwhile
                Battery.objects.filter(pk=bat.pk).update(soh_pct=91.0)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=swap_step)
    thread.start()
    assert holding.wait(5)
    body = {"id": uuid.uuid4().hex, "seq": 1, "ts": int(time.time() * 1000),
            "serial": cab.serial, "slot": bat.slot.number, "battery": bat.serial,
            "voltage_v": 52.0, "current_a": 0.0, "soc_pct": 98.0, "cell_min_mv": 3300,
            "cell_max_mv": 3310, "cell_temp_c": 30.0, "charge_ah": 1.0}
    stats = device.IngestStats()
    started = time.monotonic()
    device.ingest_batch([device.Incoming(f"cab/{cab.serial}/up/telemetry",
                                         json.dumps(body).encode(), timezone.now())],
                        stats=stats, directory=device.CabinetDirectory())
    elapsed = time.monotonic() - started
    thread.join(10)
    assert errors == []
    assert stats.telemetry == 1
    assert elapsed < 0.9  # no deadlock detection (deadlock_timeout is 1 s) was needed
    bat.refresh_from_db()
    assert (bat.soc_pct, bat.soh_pct) == (98.0, 91.0)

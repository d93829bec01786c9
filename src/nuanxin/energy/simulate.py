"""The database's cabinets come alive: the server-side adapter of the simulator.

`nuanxin.energy.simulator` knows the cabinet and nothing of the server; this module reads
the cabinets, their slots, batteries and alarms in progress from the database and hands
the simulator plain values, for `nuanxin energy simulate`, the tests and the benchmark.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time

from django.db.models import Case, F, IntegerField, When

from nuanxin.common.scoping import region_q
from nuanxin.energy import credentials as cabinet_credentials
from nuanxin.energy.models import (
    Alarm,
    AlarmKind,
    AlarmState,
    Battery,
    BatteryStatus,
    Cabinet,
    Slot,
)
from nuanxin.energy.simulator import Simulation, VirtualCabinet, demo_hands, parse_faults
from nuanxin.energy.simulator.battery import CUTOFF_C

log = logging.getLogger(__name__)

__all__ = ["simulation_from_database", "main"]


def _device_password(serial: str) -> str | None:
    """The cabinet's own broker password (energy.credentials derives one per serial)."""
    return cabinet_credentials.cabinet_password(serial) or None


def simulation_from_database(cabinets, *, auto_hands: bool = False, credentials: bool = True,
                             **kw) -> Simulation:
    """One VirtualCabinet per row of `cabinets` (a queryset), with its slots and the
    batteries in them. `auto_hands`: a simulated rider puts the returned battery in / takes
    the released one out a few seconds after a swap's door opens (the live demo).
    `credentials`: log in with each cabinet's own broker password when one is configured
    (False: anonymous, as on a development broker)."""
    virtual = []
    for cab in cabinets.select_related("operator"):
        slots: dict[int, tuple[str, float, float] | None] = {}
        model = None
        rows = list(Slot.objects.filter(cabinet=cab).order_by("number"))
        for slot in rows:
            slots[slot.number] = None
        # Charging stays off where the server stopped it: locked slots, quarantined packs.
        blocked = {slot.number for slot in rows if slot.locked}
        for bat in (Battery.objects.filter(slot__cabinet=cab)
                    .select_related("slot", "model")):
            slots[bat.slot.number] = (bat.serial, bat.soc_pct, bat.soh_pct)
            model = bat.model
            if bat.status == BatteryStatus.QUARANTINED:
                blocked.add(bat.slot.number)
        hot = (Alarm.objects.filter(cabinet=cab, kind=AlarmKind.OVER_TEMPERATURE,
                                    cleared_at__isnull=True, slot__isnull=False,
                                    battery__slot=F("slot"))
               .exclude(device_alarm_id="").exclude(state=AlarmState.RESOLVED)
               .values_list("slot__number", "device_alarm_id", "battery__cell_temp_c"))
        options = dict(kw)
        options.setdefault("overheated", {n: (aid, CUTOFF_C if temp is None else temp)
                                          for n, aid, temp in hot})
        if model is not None:
            options.setdefault("capacity_ah", float(model.capacity_ah))
            options.setdefault("rated_voltage_v", float(model.rated_voltage_v))
            options.setdefault("chemistry", model.chemistry)
        password = options.pop("password", None) or (
            _device_password(cab.serial) if credentials else None)
        if auto_hands:
            options["hands"] = demo_hands
        # The cabinet's sequence survives its reboots; the simulator's process does not, so
        # it continues past what the server has applied (with room for what was in flight).
        options.setdefault("seq_start", cab.last_seq + 1000 if cab.last_seq >= 0 else 0)
        cabinet = VirtualCabinet(
            cab.serial, slots=slots, full_pct=cab.full_threshold_pct,
            slot_count=cab.slot_count, password=password,
            username=cab.serial if password else "", **options)
        cabinet.enabled = cab.enabled and not cab.safety_locked
        for slot in rows:
            if slot.number in cabinet.slots:
                cabinet.slots[slot.number].enabled = slot.enabled
                cabinet.slots[slot.number].charging_blocked = slot.number in blocked
        virtual.append(cabinet)
    return Simulation(virtual)


def main(*, stdout=None, cabinets: int = 3, speed: float = 1.0, faults: str = "",
         seconds: float = 0, serials: list[str] | None = None, seed: int | None = None,
         auto_hands: bool = True, **_ignored) -> None:
    """`nuanxin energy simulate`: the first `cabinets` cabinets of the database (demo
    cabinets first, by group) come alive until stopped (SIGINT/SIGTERM) or `seconds` pass."""
    out = stdout or sys.stdout
    logging.getLogger("paho").setLevel(logging.WARNING)
    queryset = Cabinet.objects.filter(enabled=True)
    if serials:
        queryset = queryset.filter(serial__in=serials)
    queryset = queryset.annotate(yiwu=Case(When(region_q("region", "330782"), then=0),
                                           default=1, output_field=IntegerField()))
    ids = list(queryset.order_by("-is_demo", "yiwu", "group", "pk")
               .values_list("pk", flat=True)[:cabinets])
    if not ids:
        out.write("No cabinets in the database to simulate (run `nuanxin seed` first).\n")
        return
    rates = parse_faults(faults, seed=seed)
    chosen = Cabinet.objects.filter(pk__in=ids).order_by("pk")
    simulation = simulation_from_database(chosen, speed=speed, faults=rates,
                                          auto_hands=auto_hands)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    simulation.start()
    out.write(f"Simulating {len(simulation.cabinets)} cabinet(s) at {speed:g}x: "
              f"{', '.join(c.serial for c in simulation.cabinets)}\n")
    if hasattr(out, "flush"):
        out.flush()
    deadline = time.monotonic() + seconds if seconds > 0 else None
    try:
        # Short waits: the signal handler gets to run promptly in the main thread.
        while not stop.wait(0.5):
            if deadline is not None and time.monotonic() >= deadline:
                break
    finally:
        began = time.monotonic()
        simulation.stop()
        log.info("cabinets stopped in %.1f s", time.monotonic() - began)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sent = sum(len(c.sent) for c in simulation.cabinets)
        out.write(f"Simulation stopped: {sent} message(s) sent.\n")

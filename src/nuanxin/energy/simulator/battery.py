"""The simulated world's parts: fault rates, batteries (charging, heat, ageing) and slots."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields

CC_END_PCT = 80.0          # constant current up to here, then the voltage is held (CV)
CC_C_RATE = 0.5            # charging current in CC, as a fraction of capacity per hour
TAPER_FLOOR_A = 0.3        # below this the charger would terminate anyway
THERMAL_TAU_S = 600.0      # how fast a battery follows its target temperature
HEAT_PER_A = 0.8           # ℃ above ambient per ampere of charging current
OVERHEAT_TARGET_C = 78.0   # where a faulty cell heads while it keeps being charged
CUTOFF_C = 60.0            # the cabinet's own protection: stop charging at this temperature
COOLED_C = 45.0            # an over-temperature alarm ends below this
SOH_LOSS_PER_CYCLE = 0.02  # % per equivalent full cycle at normal temperature
HOT_C = 45.0               # above this, ageing is three times faster
SMOKE_CLEARS_S = 600.0     # simulated seconds until a smoke alarm's condition ends


@dataclass
class Faults:
    """Fault rates in [0, 1]; each is the chance that the fault hits at its occasion:

    door_jam             per open_door command: ack error `door_jam`, door event `jammed`,
                         alarm `door_jam`
    battery_unread       per door closed with a battery inside: reported `unread`, no serial
    over_temperature     per charging session: the battery heats past 60 ℃ (alarm start),
                         the cabinet stops charging it, alarm end once it has cooled
    smoke                at start and then per simulated hour: a smoke alarm on the cabinet
    disconnect_mid_swap  per door opened by a command: the connection drops right after the
                         door event, messages are queued, reconnect a few seconds later
    duplicate            per message: sent twice with the same id
    late                 per message: held back and sent after the next one (lower seq)
    """

    door_jam: float = 0.0
    battery_unread: float = 0.0
    over_temperature: float = 0.0
    smoke: float = 0.0
    disconnect_mid_swap: float = 0.0
    duplicate: float = 0.0
    late: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name != "seed":
                value = getattr(self, f.name)
                if not 0.0 <= float(value) <= 1.0:
                    raise ValueError(f"fault rate {f.name}={value} is not within 0..1")


def parse_faults(text: str, seed: int | None = None) -> Faults:
    """`door_jam=0.05,duplicate=0.1` → Faults."""
    rates: dict[str, float] = {}
    names = {f.name for f in fields(Faults)} - {"seed"}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        name, _, value = part.partition("=")
        if name not in names:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(names))}")
        rates[name] = float(value or 1.0)
    return Faults(**rates, seed=seed)


@dataclass
class SimBattery:
    serial: str
    soc: float
    soh: float
    capacity_ah: float = 24.0
    rated_voltage_v: float = 48.0
    chemistry: str = "LFP"
    cycles: float = 0.0
    temp_c: float = 25.0
    charge_ah: float = 0.0
    current_a: float = 0.0
    overheating: bool = False

    @property
    def cells(self) -> int:
        return max(1, round(self.rated_voltage_v / (3.2 if self.chemistry == "LFP" else 3.7)))

    def cell_mv(self) -> int:
        """Open-circuit cell voltage for the SoC, plus the charger's push while charging."""
        x = self.soc / 100.0
        if self.chemistry == "LFP":  # the flat LFP plateau, steep at both ends
            mv = 2900 + 350 * x + 120 * x**8 - 200 * (1 - x) ** 12
        else:
            mv = 3300 + 850 * x
        return int(max(2500, min(4250, mv + 2.5 * self.current_a)))


@dataclass
class SimSlot:
    number: int
    battery: SimBattery | None = None
    door: str = "closed"  # closed, open, jammed
    enabled: bool = True
    charging: bool = False
    unread: bool = False
    charging_blocked: bool = False  # switched off by a command: stays off until switched on
    telemetry_due: float = 0.0      # simulated time of the next telemetry
    alarm_id: str = ""              # the over-temperature alarm in progress
    opened_by: str | None = None    # the command that opened the door, echoed when it closes


@dataclass
class Sent:
    kind: str
    topic: str
    payload: dict
    at: float = field(default_factory=time.monotonic)

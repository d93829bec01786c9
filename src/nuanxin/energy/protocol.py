"""The cabinet protocol's messages: topics and payload schemas, shared by the ingester, the
command sender and the simulator. docs/cabinet-protocol.md and docs/asyncapi.yaml describe
the same thing for device makers; change the three together.

Every message, both directions, is a JSON object with
  id      message id, unique per cabinet (the server deduplicates on it), 1-64 chars
  seq     the sender's sequence number, strictly increasing per cabinet (up) or per server
          (down), kept across reboots
  ts      the sender's clock, Unix milliseconds (cabinet clocks drift; the server records
          the skew and never trusts `ts` for ordering)
plus the fields of its kind. Up: `cab/{serial}/up/{kind}`; down: `cab/{serial}/down/{kind}`.
All QoS 1: a message may arrive twice or late, never silently lost.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["UP_KINDS", "DOWN_KINDS", "parse_up", "up_topic", "down_topic", "ValidationError"]

Serial = Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{3,31}$")]
SlotNo = Annotated[int, Field(ge=1, le=48)]
Pct = Annotated[float, Field(ge=0, le=100)]
Temp = Annotated[float, Field(ge=-40, le=150)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: Annotated[str, Field(min_length=1, max_length=64)]
    seq: Annotated[int, Field(ge=0, le=2**62)]
    ts: Annotated[int, Field(ge=0)]
    serial: Serial


class Boot(_Message):
    """Sent once after every (re)connect, before any queued messages."""

    firmware: Annotated[str, Field(max_length=40)]
    hardware_model: Annotated[str, Field(max_length=40)] = ""
    slot_count: SlotNo
    queued: Annotated[int, Field(ge=0)] = 0  # messages queued offline, sent next


class Heartbeat(_Message):
    """Every 30 s. Three missed (90 s) and the server marks the cabinet offline."""

    uptime_s: Annotated[int, Field(ge=0)]
    ambient_c: Temp | None = None


class SlotStatus(_Message):
    """A full snapshot of one slot; sent on change and after boot for every slot."""

    slot: SlotNo
    door: Literal["open", "closed"]
    enabled: bool
    charging: bool
    battery: Serial | None = None  # serial read in the slot; None when empty
    unread: bool = False           # something is in the slot but its serial can't be read
    # The command whose execution this snapshot reports (slot or charging), if any.
    cmd: Annotated[str, Field(max_length=64)] | None = None


class Telemetry(_Message):
    """Per battery in a slot, every 60 s while charging (every 5 min otherwise)."""

    slot: SlotNo
    battery: Serial
    voltage_v: Annotated[float, Field(ge=0, le=120)]
    current_a: Annotated[float, Field(ge=-100, le=100)]  # + charging
    soc_pct: Pct
    soh_pct: Pct | None = None     # the battery's own BMS estimate, when it has one
    cycle_count: Annotated[int, Field(ge=0, le=100000)] | None = None
    cell_min_mv: Annotated[int, Field(ge=0, le=5000)]
    cell_max_mv: Annotated[int, Field(ge=0, le=5000)]
    cell_temp_c: Temp
    ambient_c: Temp | None = None
    charge_ah: Annotated[float, Field(ge=0)]  # lifetime Ah counter of the battery's BMS


class DoorEvent(_Message):
    slot: SlotNo
    event: Literal["opened", "closed", "jammed"]
    battery: Serial | None = None  # on "closed": the serial now in the slot
    unread: bool = False           # on "closed": a battery is there but unreadable
    # The open_door command this door answers: on "opened" and "jammed" the command being
    # carried out, on "closed" the command that had opened it. None: nobody commanded it
    # (a key, a technician). The server applies a door report only to that command's swap.
    cmd: Annotated[str, Field(max_length=64)] | None = None


class AlarmEvent(_Message):
    alarm_id: Annotated[str, Field(min_length=1, max_length=64)]
    kind: Literal["over_temperature", "smoke", "door_jam", "battery_unread"]
    state: Literal["start", "end"]
    slot: SlotNo | None = None
    battery: Serial | None = None
    value: float | None = None     # e.g. the temperature in ℃


class CommandAck(_Message):
    cmd: Annotated[str, Field(min_length=1, max_length=64)]
    result: Literal["ok", "error"]
    error: Annotated[str, Field(max_length=32)] = ""  # door_jam, slot_disabled, busy, ...


UP_KINDS: dict[str, type[_Message]] = {
    "boot": Boot,
    "heartbeat": Heartbeat,
    "slot": SlotStatus,
    "telemetry": Telemetry,
    "door": DoorEvent,
    "alarm": AlarmEvent,
    "ack": CommandAck,
}

# Down commands and their fields (besides id, seq, ts, serial).
DOWN_KINDS: dict[str, tuple[str, ...]] = {
    # + "swap": id, for the cabinet's own log; + "battery": on a swap's return door, the
    # serial the rider is expected to put in (a screen may show it; the simulator's hands
    # use it)
    "open_door": ("slot",),
    "slot": ("slot", "enabled"),        # enable or disable one slot
    "cabinet": ("enabled",),            # enable or disable the whole cabinet
    "charging": ("slot", "on"),         # start or stop charging one slot
    "threshold": ("full_pct",),         # set the full-charge threshold
}


def up_topic(serial: str, kind: str) -> str:
    return f"cab/{serial}/up/{kind}"


def down_topic(serial: str, kind: str) -> str:
    return f"cab/{serial}/down/{kind}"


class ProtocolError(Exception):
    """A message refused before it touches the database; `reason` is the counted code."""

    def __init__(self, reason: str, detail: str = "", serial: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
        self.serial = serial


def parse_up(topic: str, payload: bytes) -> tuple[str, _Message]:
    """Topic and payload to (kind, message), or ProtocolError.

    Reasons: bad_topic, unknown_kind, malformed (not JSON / wrong fields / impossible
    values), serial_mismatch (the payload names another cabinet than its topic).
    """
    import json

    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != "cab" or parts[2] != "up":
        raise ProtocolError("bad_topic", topic[:200])
    serial, kind = parts[1], parts[3]
    schema = UP_KINDS.get(kind)
    if schema is None:
        raise ProtocolError("unknown_kind", kind[:40], serial=serial[:64])
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("malformed", "not JSON", serial=serial[:64]) from None
    if not isinstance(data, dict):
        raise ProtocolError("malformed", "not an object", serial=serial[:64])
    try:
        message = schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise ProtocolError("malformed", f"{where}: {first.get('msg', '')}"[:300],
                            serial=serial[:64]) from None
    if message.serial != serial:
        raise ProtocolError("serial_mismatch", f"topic {serial} payload {message.serial}",
                            serial=serial[:64])
    if isinstance(message, Telemetry) and message.cell_min_mv > message.cell_max_mv:
        raise ProtocolError("impossible_value", "cell_min_mv > cell_max_mv", serial=serial)
    return kind, message

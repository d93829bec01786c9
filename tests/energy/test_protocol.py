"""The cabinet protocol's parser, and the two documents that describe it to device makers
(docs/cabinet-protocol.md, docs/asyncapi.yaml) agreeing with it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from nuanxin.energy import protocol
from nuanxin.energy.protocol import ProtocolError, parse_up

DOCS = Path(__file__).resolve().parents[2] / "docs"
SERIAL = "CAB-YW-0001"


def body(**fields) -> bytes:
    base = {"id": "m1", "seq": 7, "ts": 1764403200000, "serial": SERIAL}
    base.update(fields)
    return json.dumps(base).encode()


TELEMETRY = {"slot": 3, "battery": "BAT-YW-000231", "voltage_v": 53.2, "current_a": 6.1,
             "soc_pct": 72.5, "cell_min_mv": 3310, "cell_max_mv": 3342, "cell_temp_c": 34.5,
             "charge_ah": 7466.2}


def test_each_kind_parses():
    kind, msg = parse_up(f"cab/{SERIAL}/up/telemetry", body(**TELEMETRY))
    assert kind == "telemetry" and isinstance(msg, protocol.Telemetry)
    assert msg.soc_pct == 72.5 and msg.soh_pct is None
    kind, msg = parse_up(f"cab/{SERIAL}/up/door", body(slot=5, event="closed", battery=None))
    assert kind == "door" and msg.battery is None and msg.unread is False
    kind, msg = parse_up(f"cab/{SERIAL}/up/ack", body(cmd="c1", result="error",
                                                      error="door_jam"))
    assert (msg.cmd, msg.result, msg.error) == ("c1", "error", "door_jam")


def test_unknown_fields_are_ignored():
    _, msg = parse_up(f"cab/{SERIAL}/up/heartbeat", body(uptime_s=3, firmware_extra="x"))
    assert msg.uptime_s == 3


@pytest.mark.parametrize("topic,payload,reason", [
    ("cab/X/down/open_door", body(), "bad_topic"),
    (f"cab/{SERIAL}/up", body(), "bad_topic"),
    (f"cab/{SERIAL}/up/door/extra", body(), "bad_topic"),
    (f"cab/{SERIAL}/up/selfie", body(), "unknown_kind"),
    (f"cab/{SERIAL}/up/heartbeat", b"\xff\xfe", "malformed"),
    (f"cab/{SERIAL}/up/heartbeat", b"[1, 2]", "malformed"),
    (f"cab/{SERIAL}/up/heartbeat", body(), "malformed"),  # uptime_s missing
    (f"cab/{SERIAL}/up/heartbeat", body(uptime_s=-1), "malformed"),
    (f"cab/{SERIAL}/up/heartbeat", body(uptime_s=1, seq=-5), "malformed"),
    (f"cab/{SERIAL}/up/heartbeat", body(uptime_s=1, id=""), "malformed"),
    (f"cab/{SERIAL}/up/heartbeat", body(uptime_s=1, serial="cab lower"), "malformed"),
    (f"cab/{SERIAL}/up/telemetry", body(**{**TELEMETRY, "soc_pct": 101}), "malformed"),
    (f"cab/{SERIAL}/up/telemetry", body(**{**TELEMETRY, "cell_temp_c": 400}), "malformed"),
    (f"cab/{SERIAL}/up/telemetry", body(**{**TELEMETRY, "slot": 0}), "malformed"),
    (f"cab/{SERIAL}/up/door", body(slot=1, event="exploded"), "malformed"),
    (f"cab/{SERIAL}/up/telemetry", body(**{**TELEMETRY, "cell_min_mv": 3400}),
     "impossible_value"),
    (f"cab/{SERIAL}/up/heartbeat", body(uptime_s=1, serial="CAB-YW-0002"), "serial_mismatch"),
])
def test_refusals_name_their_reason(topic, payload, reason):
    with pytest.raises(ProtocolError) as exc:
        parse_up(topic, payload)
    assert exc.value.reason == reason


def test_topics():
    assert protocol.up_topic(SERIAL, "door") == f"cab/{SERIAL}/up/door"
    assert protocol.down_topic(SERIAL, "open_door") == f"cab/{SERIAL}/down/open_door"


# --------------------------------------------------------------------------- the documents
EXAMPLE = re.compile(r"Topic: `(cab/[^`]+)`\s*\n+```json\n(.*?)```", re.S)


def doc_examples() -> list[tuple[str, str]]:
    return EXAMPLE.findall((DOCS / "cabinet-protocol.md").read_text())


def test_the_protocol_doc_shows_every_kind_and_every_example_parses():
    examples = doc_examples()
    up_kinds, down_kinds = set(), set()
    for topic, text in examples:
        _, serial, direction, kind = topic.split("/")
        if direction == "up":
            up_kinds.add(kind)
            if kind == "will":
                continue  # the broker's, no envelope
            parsed_kind, message = parse_up(topic, text.encode())
            assert parsed_kind == kind
        else:
            down_kinds.add(kind)
            data = json.loads(text)
            assert set(protocol.DOWN_KINDS[kind]) <= data.keys(), topic
            assert {"id", "seq", "ts", "serial"} <= data.keys()
            assert data["serial"] == serial
    assert up_kinds == set(protocol.UP_KINDS) | {"will"}
    assert down_kinds == set(protocol.DOWN_KINDS)


def _resolve(spec: dict, doc: dict) -> dict:
    if "$ref" in spec:
        node = doc
        for part in spec["$ref"].lstrip("#/").split("/"):
            node = node[part]
        return _resolve(node, doc)
    return spec


def _properties(schema: dict, doc: dict) -> tuple[set[str], set[str]]:
    schema = _resolve(schema, doc)
    props, required = set(schema.get("properties", {})), set(schema.get("required", []))
    for part in schema.get("allOf", []):
        p, r = _properties(part, doc)
        props |= p
        required |= r
    return props, required


def test_the_asyncapi_document_matches_the_parser():
    doc = yaml.safe_load((DOCS / "asyncapi.yaml").read_text())
    assert doc["asyncapi"].startswith("2.6")
    channels = doc["channels"]
    for kind, model in protocol.UP_KINDS.items():
        channel = channels[f"cab/{{serial}}/up/{kind}"]
        message = _resolve(channel["publish"]["message"], doc)
        props, required = _properties(message["payload"], doc)
        assert props == set(model.model_fields), kind
        assert required == {n for n, f in model.model_fields.items() if f.is_required()}, kind
        assert channel["publish"]["bindings"]["mqtt"]["qos"] == 1
    for kind, fields in protocol.DOWN_KINDS.items():
        channel = channels[f"cab/{{serial}}/down/{kind}"]
        message = _resolve(channel["subscribe"]["message"], doc)
        _, required = _properties(message["payload"], doc)
        assert required == {"id", "seq", "ts", "serial", *fields}, kind
    assert "cab/{serial}/up/will" in channels

"""MQTT connections of the server side: one helper to build a connected client, and one
process-wide publisher for commands.

Settings: MQTT_URL (`mqtt://host:port`, `mqtts://` for TLS), MQTT_USERNAME, MQTT_PASSWORD.
The publisher connects lazily (most web requests never send a command) and paho's network
thread reconnects it when the broker restarts; QoS 1 messages published while it is down
are queued by paho and delivered on reconnect.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from urllib.parse import urlparse

import paho.mqtt.client as paho
from django.conf import settings

log = logging.getLogger(__name__)

__all__ = ["mqtt_client", "broker_address", "publish", "publisher_reset"]


def broker_address(url: str | None = None) -> tuple[str, int, bool]:
    """(host, port, tls) from an `mqtt://host:port` URL."""
    parsed = urlparse(url or settings.MQTT_URL)
    tls = parsed.scheme in {"mqtts", "ssl"}
    if parsed.scheme not in {"mqtt", "tcp", "mqtts", "ssl"}:
        raise ValueError(f"unsupported MQTT URL scheme: {parsed.scheme!r}")
    return parsed.hostname or "127.0.0.1", parsed.port or (8883 if tls else 1883), tls


def mqtt_client(client_id: str, *, url: str | None = None, username: str | None = None,
                password: str | None = None, connect: bool = True, clean_session: bool = True,
                protocol: int = paho.MQTTv311, keepalive: int = 30,
                will: tuple[str, bytes] | None = None,
                timeout: float = 10.0) -> paho.Client:
    """A paho client with VERSION2 callbacks; connected (blocking until CONNACK) unless
    `connect=False`. The caller starts the network loop (`loop_start`/`loop_forever`).

    Connecting waits for the CONNACK so a wrong password or a down broker fails here, loud,
    rather than as silent publishes into nothing later.
    """
    host, port, tls = broker_address(url)
    kwargs = {"clean_session": clean_session} if protocol != paho.MQTTv5 else {}
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=protocol, **kwargs)
    user = settings.MQTT_USERNAME if username is None else username
    pw = settings.MQTT_PASSWORD if password is None else password
    if user:
        client.username_pw_set(user, pw or None)
    if tls:
        client.tls_set()
    if will is not None:
        client.will_set(will[0], will[1], qos=1)
    client.reconnect_delay_set(min_delay=1, max_delay=10)
    if not connect:
        return client
    outcome: dict = {}

    def on_connect(c, userdata, flags, reason_code, properties):
        outcome["rc"] = reason_code

    client.on_connect = on_connect
    client.connect(host, port, keepalive=keepalive)
    # Drive the network loop by hand until the CONNACK: a background loop would have to be
    # stopped again, and loop_stop() waits out paho's 1-second select timeout.
    deadline = time.monotonic() + timeout
    while "rc" not in outcome and time.monotonic() < deadline:
        if client.loop(timeout=0.05) != paho.MQTT_ERR_SUCCESS:
            break
    client.on_connect = None
    rc = outcome.get("rc")
    if rc is None:
        client.disconnect()
        raise ConnectionError(f"no CONNACK from MQTT broker {host}:{port}")
    if rc.is_failure:
        client.disconnect()
        raise ConnectionError(f"MQTT broker {host}:{port} refused the connection: {rc}")
    return client


class _Publisher:
    """One connected client per process, shared by every thread that sends commands."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: paho.Client | None = None
        self._url: str | None = None

    def _get(self) -> paho.Client:
        with self._lock:
            # Tests switch settings.MQTT_URL; a new address means a new connection.
            if self._client is not None and self._url != settings.MQTT_URL:
                self._close_locked()
            if self._client is None:
                client = mqtt_client(f"nuanxin-pub-{uuid.uuid4().hex[:12]}")
                client.loop_start()
                self._client, self._url = client, settings.MQTT_URL
            return self._client

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> paho.MQTTMessageInfo:
        client = self._get()
        info = client.publish(topic, payload, qos=qos)
        if info.rc == paho.MQTT_ERR_NO_CONN:
            # paho queues QoS>0 messages while disconnected; its loop reconnects and sends.
            log.warning("MQTT publisher disconnected; %s queued until reconnect", topic)
        return info

    def _close_locked(self) -> None:
        if self._client is not None:
            try:
                self._client.disconnect()
                self._client.loop_stop()
            except Exception:  # closing a broken client must not raise
                log.exception("closing MQTT publisher")
        self._client = None

    def reset(self) -> None:
        with self._lock:
            self._close_locked()


_publisher = _Publisher()


def publish(topic: str, payload: bytes, qos: int = 1) -> paho.MQTTMessageInfo:
    """Publish through the process-wide connection (connecting on first use)."""
    return _publisher.publish(topic, payload, qos=qos)


def publisher_reset() -> None:
    """Close the shared connection (tests; after fork)."""
    _publisher.reset()

"""The embedded MQTT broker of the demo (`nuanxin energy broker`, started by `nuanxin run`).

DEMO ONLY: it allows anonymous clients and has no ACL, so any client could publish as any
cabinet. Production and CI use Mosquitto with the per-cabinet credentials and ACL shipped in
deploy/mosquitto/. amqtt is pure Python and needs nothing installed, which is why the demo
uses it: `make run` must work on a laptop with no broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
import sys
import threading

DEFAULT_PORT = 18830


class PortInUse(Exception):
    pass


def broker_config(host: str, port: int) -> dict:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}",
                                  "max_connections": 2000}},
        # Demo only: anonymous clients, no ACL (see the module docstring).
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin":
                    {"allow_anonymous": True}},
    }


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


async def serve(host: str, port: int, stop: asyncio.Event, started: threading.Event | None = None
                ) -> None:
    from amqtt.broker import Broker

    if not port_free(host, port):
        raise PortInUse(f"{host}:{port}")
    broker = Broker(broker_config(host, port))
    try:
        await broker.start()
    except OSError as exc:  # lost a race for the port after the probe
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"{host}:{port}") from None
        raise
    if started is not None:
        started.set()
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await broker.shutdown()


class BrokerThread:
    """The broker in a background thread of this process (tests, short demos)."""

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
        self.host, self.port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"mqtt-broker-{port}",
                                        daemon=True)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._stop = asyncio.Event()
        try:
            self._loop.run_until_complete(serve(self.host, self.port, self._stop, self._started))
        except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
            self._error = exc
            self._started.set()
        finally:
            self._loop.close()

    def start(self, timeout: float = 10) -> BrokerThread:
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError("the MQTT broker did not start")
        if self._error is not None:
            raise self._error
        return self

    def stop(self, timeout: float = 10) -> None:
        if self._loop is not None and self._stop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)


def main(*, stdout=None, port: int = DEFAULT_PORT, host: str = "127.0.0.1", **_ignored) -> None:
    """Run until SIGINT/SIGTERM. Exits with status 2 and a clear message if the port is taken."""
    out = stdout or sys.stdout
    # amqtt logs every connection at INFO; the demo log only needs warnings.
    logging.getLogger("amqtt").setLevel(logging.WARNING)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started = threading.Event()

    async def announce() -> None:
        while not started.is_set():
            await asyncio.sleep(0.05)
        out.write(f"MQTT broker (embedded, demo only: anonymous) on mqtt://{host}:{port}\n")
        out.flush()

    try:
        loop.run_until_complete(asyncio.gather(serve(host, port, stop, started), announce()))
    except PortInUse:
        sys.stderr.write(f"MQTT broker: port {port} on {host} is already in use; stop what "
                         f"holds it or set MQTT_URL to use another broker.\n")
        raise SystemExit(2) from None
    finally:
        loop.close()

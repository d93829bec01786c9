"""`nuanxin run`: migrate, load demo data on an empty database, then serve with a worker.

The battery-swap demo comes alive too: an embedded MQTT broker (unless MQTT_URL names a real
one), one cabinet-message ingester and the simulated cabinets, all child processes stopped
with the web server.
"""

import os
import signal
import subprocess
import sys
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from nuanxin.energy.broker import port_free
from nuanxin.energy.mqtt import broker_address
from nuanxin.ops import demo
from nuanxin.ops.management.commands.seed import print_logins


def gunicorn_args(*, host: str, port: int, workers: int) -> list[str]:
    return [
        "nuanxin.wsgi:application", "--bind", f"{host}:{port}", "--workers", str(workers),
        "--threads", "4", "--access-logfile", "-", "--graceful-timeout", "5",
        # Each instance its own control socket: gunicorn's default path is one per machine,
        # so a second `make run` (another port, another checkout) would take over the first's.
        "--control-socket", str(settings.VAR_DIR / f"gunicorn-{port}.ctl"),
        # Request lines up to gunicorn's ceiling reach Django, which answers an over-long
        # address in the site's own shape (JSON 414 under /api/).
        "--limit-request-line", "8190",
    ]


class Command(BaseCommand):
    help = "Start the platform: web server (gunicorn) and background worker (huey)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--workers", type=int,
                            default=int(os.environ.get("WEB_CONCURRENCY", "2")))
        parser.add_argument("--no-seed", action="store_true")
        parser.add_argument("--cabinets", type=int,
                            default=int(os.environ.get("NUANXIN_SIM_CABINETS", "20")),
                            help="simulated cabinets (0: none); the Yiwu demo groups first")
        parser.add_argument("--sim-speed", type=float,
                            default=float(os.environ.get("NUANXIN_SIM_SPEED", "10")),
                            help="simulated minutes per real minute for the cabinets")

    def handle(self, *args, port, host, workers, no_seed, cabinets, sim_speed, **options):
        call_command("migrate", interactive=False, verbosity=0)
        logins = []
        if not no_seed and not demo.is_seeded():
            self.stdout.write("Empty database: loading demo data ...")
            logins = demo.seed()
        call_command("collectstatic", interactive=False, verbosity=0)
        connection.close()

        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "nuanxin.settings"}
        python = sys.executable
        procs: list[subprocess.Popen] = []

        def stop(*_):
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()

        # Handlers and cleanup cover every child from the first one started: a SIGTERM or an
        # error while the cabinets are still starting must not leave orphans behind.
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            web = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [python, "-m", "gunicorn", *gunicorn_args(host=host, port=port,
                                                          workers=workers)],
                env=env,
            )
            procs.append(web)
            worker = subprocess.Popen(  # noqa: S603
                [python, "-m", "nuanxin", "run_huey", "--workers", "2", "--worker-type",
                 "thread"],
                env=env,
            )
            procs.append(worker)
            cabinet_lines = self.start_cabinets(env, procs, cabinets=cabinets,
                                                speed=sim_speed)
            self.print_addresses(f"http://{host}:{port}", logins, cabinet_lines)
            # The web server and the job worker are essential; the cabinet processes are not
            # (the platform works without live cabinets), so only the first two end the run.
            while web.poll() is None and worker.poll() is None:
                time.sleep(0.5)
        finally:
            stop()
            # One deadline for all: children stop in parallel, not ten seconds each in turn.
            deadline = time.monotonic() + 10
            for proc in procs:
                try:
                    proc.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()

    def print_addresses(self, base: str, logins: list, cabinet_lines: list[str]) -> None:
        self.stdout.write(self.style.SUCCESS(f"\n暖新 is running on {base}  ({connection.vendor})"))
        for label, path in [
            ("Worker home / 骑手首页", "/"),
            ("Phone login / 手机登录", "/accounts/login/"),
            ("Staff console / 工作台", "/console/"),
            ("Staff login / 工作人员登录", "/accounts/staff/login/"),
            ("API docs / 接口文档", "/api/docs"),
            ("OpenAPI", "/api/openapi.json"),
            ("Stations GeoJSON", "/api/v1/stations.geojson"),
            ("Django admin", "/admin/"),
            ("Health", "/healthz"),
        ]:
            self.stdout.write(f"  {label:<28} {base}{path}")
        if logins:
            print_logins(self.stdout, logins)
        else:
            self.stdout.write(f"  Demo staff password: {demo.DEMO_PASSWORD}; "
                              f"rider phone {demo.DEMO_WORKER_PHONE} (SMS code in this log); "
                              "admins' TOTP code: nuanxin totp <username>")
        for line in cabinet_lines:
            self.stdout.write(line.replace("{base}", base))
        self.stdout.write(f"  Data: {settings.DATABASES['default']['NAME']}\n")

    def start_cabinets(self, env: dict, procs: list, *, cabinets: int, speed: float
                       ) -> list[str]:
        """Broker (embedded unless MQTT_URL is set), ingester and simulated cabinets as
        children appended to `procs`; returns the lines to print about them."""
        from nuanxin.energy.models import Cabinet

        if cabinets <= 0:
            return []
        python = sys.executable
        mqtt_host, mqtt_port, _tls = broker_address()
        lines = ["", "  Battery-swap cabinets / 换电柜"]
        if "MQTT_URL" not in os.environ:
            if not port_free(mqtt_host, mqtt_port):
                # Another `nuanxin run` already serves the demo cabinets on this broker (its
                # own ingester and simulator): a second pair would ingest everything twice
                # and send two interleaved sequences per cabinet. Run without live cabinets.
                if _speaks_mqtt(mqtt_host, mqtt_port):
                    self.stdout.write(f"An MQTT broker already holds port {mqtt_port}: another "
                                      f"demo serves the cabinets there; this one starts none.")
                else:
                    self.stderr.write(
                        f"Port {mqtt_port} on {mqtt_host} is taken by something that is not an "
                        f"MQTT broker: the demo cabinets stay offline. Free the port, or set "
                        f"MQTT_URL=mqtt://host:port to use another broker.")
                return []
            else:
                broker = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                    [python, "-m", "nuanxin", "energy", "broker", "--port", str(mqtt_port)],
                    env=env)
                procs.append(broker)
                deadline = time.monotonic() + 15
                # A real CONNECT, so the broker has no half-open probe to complain about.
                while not _speaks_mqtt(mqtt_host, mqtt_port):
                    if broker.poll() is not None or time.monotonic() > deadline:
                        self.stderr.write("The embedded MQTT broker did not start: the demo "
                                          "cabinets stay offline.")
                        return []
                    time.sleep(0.2)
                lines.append(f"  {'MQTT broker (embedded, demo)':<28} {settings.MQTT_URL}")
            # amqtt has no shared subscriptions: one ingester subscribes plainly.
            env = {**env, "MQTT_SHARE_GROUP": ""}
        else:
            lines.append(f"  {'MQTT broker':<28} {settings.MQTT_URL}")
        ingest = subprocess.Popen(  # noqa: S603
            [python, "-m", "nuanxin", "energy", "ingest"], env=env, stdout=subprocess.PIPE,
            text=True, bufsize=1)
        procs.append(ingest)
        # The cabinets start once the ingester is subscribed: their boot messages would
        # otherwise go to nobody (the embedded broker keeps no sessions).
        subscribed = threading.Event()

        def relay() -> None:
            for line in ingest.stdout:
                if line.startswith("ingesting"):
                    subscribed.set()
                sys.stdout.write(line)
                sys.stdout.flush()
            subscribed.set()

        threading.Thread(target=relay, daemon=True).start()
        if not subscribed.wait(60):
            self.stderr.write("The ingester did not subscribe within a minute; starting the "
                              "cabinets anyway.")
        procs.append(subprocess.Popen(  # noqa: S603
            [python, "-m", "nuanxin", "energy", "simulate", "--cabinets", str(cabinets),
             "--speed", str(speed)], env=env))
        lines.append(f"  {'Simulated cabinets':<28} {cabinets} at {speed:g}x time")
        lines.append(f"  {'Rider: cabinets nearby':<28} {{base}}/energy/")
        lines.append(f"  {'Console: cabinets':<28} {{base}}/console/energy/")
        shown = Cabinet.objects.in_region("330782").filter(is_demo=True).order_by("serial")[:4]
        for cab in shown:
            lines.append(f"  {cab.name[:26]:<28} {{base}}/console/energy/cabinets/{cab.pk}/"
                         f"  {{base}}/energy/cabinets/{cab.serial}/")
        connection.close()  # from here on the parent only waits: hold no database connection
        return lines


def _speaks_mqtt(host: str, port: int) -> bool:
    """Whether an MQTT broker answers a CONNECT on host:port."""
    from nuanxin.energy.mqtt import mqtt_client

    try:
        client = mqtt_client(f"nx-probe-{os.getpid()}", url=f"mqtt://{host}:{port}", timeout=1)
    except (OSError, ValueError):
        return False
    client.disconnect()
    return True

"""`nuanxin run`: migrate, load demo data on an empty database, then serve with a worker."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from nuanxin.ops import demo
from nuanxin.ops.management.commands.seed import print_logins


class Command(BaseCommand):
    help = "Start the platform: web server (gunicorn) and background worker (huey)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--workers", type=int,
                            default=int(os.environ.get("WEB_CONCURRENCY", "2")))
        parser.add_argument("--no-seed", action="store_true")

    def handle(self, *args, port, host, workers, no_seed, **options):
        call_command("migrate", interactive=False, verbosity=0)
        logins = []
        if not no_seed and not demo.is_seeded():
            self.stdout.write("Empty database: loading demo data ...")
            logins = demo.seed()
        call_command("collectstatic", interactive=False, verbosity=0)
        connection.close()

        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "nuanxin.settings"}
        python = sys.executable
        web = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [python, "-m", "gunicorn", "nuanxin.wsgi:application", "--bind", f"{host}:{port}",
             "--workers", str(workers), "--threads", "4", "--access-logfile", "-",
             "--graceful-timeout", "5"],
            env=env,
        )
        worker = subprocess.Popen(  # noqa: S603
            [python, "-m", "nuanxin", "run_huey", "--workers", "2", "--worker-type", "thread"],
            env=env,
        )
        base = f"http://{host}:{port}"
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
        self.stdout.write(f"  Data: {settings.DATABASES['default']['NAME']}\n")

        def stop(*_):
            for proc in (web, worker):
                proc.terminate()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while web.poll() is None and worker.poll() is None:
                time.sleep(0.5)
        finally:
            stop()
            for proc in (web, worker):
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()

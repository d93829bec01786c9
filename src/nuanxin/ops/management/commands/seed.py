import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from nuanxin.ops import demo

SCALES = {
    # name: (stations, workers)
    "demo": (2000, 500),
    "province": (22000, 3_000_000),
}


class Command(BaseCommand):
    help = "Load deterministic demo data (regions, staff, workers, stations)."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=sorted(SCALES), default="demo",
                            help="demo: 2,000 stations, 500 workers; "
                            "province: 22,000 stations, 3,000,000 workers")
        parser.add_argument("--seed", type=int, default=2026, help="random seed number")

    def handle(self, *args, scale, seed, **options):
        if demo.is_seeded():
            raise CommandError("The database already has data; seed needs an empty database.")
        stations, workers = SCALES[scale]
        started = time.monotonic()

        def progress(message: str) -> None:
            if scale != "demo":
                self.stdout.write(f"[{time.monotonic() - started:6.1f}s] {message}")

        logins = demo.seed(seed_number=seed, stations=stations, workers=workers,
                           progress=progress)
        elapsed = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(
            f"Seeded {scale}: {stations} stations, {workers + 1} workers "
            f"({connection.vendor}, {elapsed:.1f} s)."))
        print_logins(self.stdout, logins)


def print_logins(out, logins):
    out.write("Demo logins (password for staff: see below):")
    for login in logins:
        secret = f"  password: {login.password}" if login.password else ""
        out.write(f"  {login.role:<12} {login.username:<18}{secret}  ({login.note})")

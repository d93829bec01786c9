from django.core.management.base import BaseCommand, CommandError

from nuanxin.ops import demo

SCALES = {
    # name: (stations, workers)
    "demo": (2000, 500),
    "province": (22000, 3_000_000),
}


class Command(BaseCommand):
    help = "Load deterministic demo data (regions, staff, workers, stations)."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=sorted(SCALES), default="demo")
        parser.add_argument("--seed", type=int, default=2026, help="random seed number")

    def handle(self, *args, scale, seed, **options):
        if demo.is_seeded():
            raise CommandError("The database already has data; seed needs an empty database.")
        stations, workers = SCALES[scale]
        logins = demo.seed(seed_number=seed, stations=stations, workers=workers)
        self.stdout.write(self.style.SUCCESS(f"Seeded {scale}: {stations} stations, "
                                             f"{workers + 1} workers."))
        print_logins(self.stdout, logins)


def print_logins(out, logins):
    out.write("Demo logins (password for staff: see below):")
    for login in logins:
        secret = f"  password: {login.password}" if login.password else ""
        out.write(f"  {login.role:<12} {login.username:<18}{secret}  ({login.note})")

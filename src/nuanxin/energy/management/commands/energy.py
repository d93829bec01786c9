"""`nuanxin energy <ingest|simulate|verify|credentials|broker>`: the cabinet side's processes.

Each subcommand's work lives in its own module; this file only parses arguments.
"""

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Battery-swap cabinets: ingest device messages, simulate cabinets, verify custody."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)

        ingest = sub.add_parser("ingest", help="consume cabinet messages from the broker")
        ingest.add_argument("--client-id", default="")
        ingest.add_argument("--batch-ms", type=int, default=50,
                            help="flush telemetry at least this often")

        simulate = sub.add_parser("simulate", help="run virtual cabinets against the broker")
        simulate.add_argument("--cabinets", type=int, default=3)
        simulate.add_argument("--speed", type=float, default=1.0,
                              help="simulated minutes per real minute")
        simulate.add_argument("--faults", default="",
                              help="comma-separated fault=rate, e.g. door_jam=0.05,duplicate=0.1")
        simulate.add_argument("--seconds", type=float, default=0,
                              help="stop after this long (0: run until stopped)")
        simulate.add_argument("--serial", dest="serials", action="append",
                              help="simulate this cabinet (repeatable; default: the first N)")
        simulate.add_argument("--seed", type=int, default=None,
                              help="random seed for faults (repeatable runs)")
        simulate.add_argument("--no-riders", dest="auto_hands", action="store_false",
                              help="no simulated riders at open doors (tests drive the doors)")

        sub.add_parser("verify", help="check every battery is in exactly one place and the "
                                      "custody ledger replays to today's state")

        credentials = sub.add_parser("credentials",
                                     help="write a Mosquitto password file for every cabinet")
        credentials.add_argument("--passwd-file", required=True)

        broker = sub.add_parser("broker", help="run the embedded MQTT broker (demo only)")
        broker.add_argument("--port", type=int, default=18830)

    def handle(self, *args, action, **options):
        if action == "ingest":
            from nuanxin.energy.ingest import main
        elif action == "simulate":
            from nuanxin.energy.simulate import main
        elif action == "verify":
            from nuanxin.energy.services.custody import ledger_verify

            problems = ledger_verify()
            for problem in problems:
                self.stderr.write(problem)
            if problems:
                raise CommandError(f"{len(problems)} custody problem(s)")
            self.stdout.write("custody ledger verified: every battery is in exactly one place")
            return
        elif action == "credentials":
            from nuanxin.energy.credentials import main
        else:
            from nuanxin.energy.broker import main
        main(stdout=self.stdout, **{k: v for k, v in options.items()
                                    if k not in {"verbosity", "settings", "pythonpath",
                                                 "traceback", "no_color", "force_color",
                                                 "skip_checks"}})

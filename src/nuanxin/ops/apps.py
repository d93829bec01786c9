from django.apps import AppConfig

from nuanxin.common.manifest import Manifest, Seeder


class OpsConfig(AppConfig):
    name = "nuanxin.ops"
    label = "ops"
    verbose_name = "Operations"
    # The places, stations and people every app's demo builds on.
    manifest = Manifest(seeders=(
        Seeder("regions", "nuanxin.ops.demo.seed_regions", order=10),
        Seeder("stations", "nuanxin.ops.demo.seed_stations", order=20, after=("regions",)),
        Seeder("people", "nuanxin.ops.demo.seed_demo_people", order=30, after=("regions",)),
    ))

from django.apps import AppConfig

from nuanxin.common.manifest import Api, ConsoleLink, Manifest, Seeder, Tile, Urls

# What the seeder saw, for the tests to read.
SEEDED: list[dict] = []


def seed_demo(ctx) -> None:
    from nuanxin.accounts.models import User
    from nuanxin.stations.models import Station

    SEEDED.append({"users": User.objects.count(), "stations": Station.objects.count(),
                   "draw": ctx.stream("nightschool").random()})


def export_lessons(user) -> list[dict]:
    return [{"lesson": "电动车安全", "who": user.pk}]


class NightSchoolConfig(AppConfig):
    name = "tests.common.nightschool"
    label = "nightschool"
    manifest = Manifest(
        tiles=(Tile("nightschool", "夜校", "nightschool:home", icon="nuanxin/icons/survey.svg",
                    order=1),),
        console=(ConsoleLink("nightschool", "夜校", "nightschool_console:home", order=1),),
        urls=(Urls("nightschool/", "tests.common.nightschool.urls"),
              Urls("console/nightschool/", "tests.common.nightschool.console_urls")),
        api=(Api("/v1/nightschool", "tests.common.nightschool.api.router"),),
        seeders=(Seeder("nightschool", seed_demo, order=100, after=("people", "stations")),),
        figures="tests.common.nightschool.figures",
        exporters={"nightschool": export_lessons},
    )

"""The demo seed: the article's places and people, inside real boundaries, deterministic."""

import random

import pytest
from shapely.geometry import Point, shape

from nuanxin.accounts.models import StaffProfile, User
from nuanxin.geo.models import Region
from nuanxin.needs.models import Need
from nuanxin.ops import demo
from nuanxin.stations.models import Station
from tests.common.nightschool.apps import SEEDED
from tests.factories.places import CHUITAI, YIJIASHAN

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(settings):
    # An app installed by one line (tests/common/nightschool) seeds its demo too.
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "tests.common.nightschool"]
    SEEDED.clear()
    # The inner seed: the outer one tunes SQLite pragmas, which a test's transaction forbids.
    return demo._seed(seed_number=7, stations=120, workers=60, progress=lambda _m: None)


def test_demo_seed(seeded):
    """One seed (it is the slow part), four checks."""
    _every_station_inside_its_district()
    _the_article_places_people_and_logins(seeded)
    _station_generation_is_deterministic()
    _a_new_apps_seeder_runs_after_what_it_reads()


def _a_new_apps_seeder_runs_after_what_it_reads():
    assert len(SEEDED) == 1
    assert SEEDED[0]["stations"] == 120 and SEEDED[0]["users"] > 60
    # Its own random stream: the same for this seed number whatever the others drew.
    assert SEEDED[0]["draw"] == random.Random("7:nightschool").random()


def _every_station_inside_its_district():
    districts = {r.code: shape(r.boundary) for r in Region.objects.filter(level="district")}
    stations = list(Station.objects.all())
    assert len(stations) == 120
    outside = [s.name for s in stations
               if not districts[s.region_id[:6]].covers(Point(s.lng, s.lat))]
    assert outside == []


def _the_article_places_people_and_logins(seeded):
    assert Station.objects.filter(name="义驾山社区党群服务中心",
                                  region_id=YIJIASHAN).exists()
    assert Region.objects.get(code=CHUITAI).name == "吹台社区"
    usernames = {login.username for login in seeded}
    assert {"province.admin", "yijiashan.staff", demo.DEMO_WORKER_PHONE} <= usernames
    assert StaffProfile.objects.get(user__username="yijiashan.staff").org_unit.region_id \
        == YIJIASHAN
    assert User.objects.filter(kind="worker").count() >= 60
    assert Need.objects.filter(region_id=YIJIASHAN, category="charging").exists()


def _station_generation_is_deterministic():
    communities = list(Region.objects.filter(level="community", is_demo=True)
                       .select_related("parent__parent").order_by("code"))

    def generate():
        rows = demo._station_rows(communities, 30, random.Random(11))
        return [(s.name, s.lat, s.lng, s.amenity_bits, hours) for s, hours in rows]

    assert generate() == generate()

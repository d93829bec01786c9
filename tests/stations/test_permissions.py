"""Who may see and change which station: the scope grid, and query budgets of staff lists.

A station outside a staff member's region must look as if it did not exist (NotFound,
404), never "forbidden"; people without a staff role are refused everything.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from nuanxin.accounts.models import User
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.stations import selectors, services
from nuanxin.stations.models import CheckIn, OpeningSpan, ScheduleException, Station
from tests.factories.people import (
    PartnerUserFactory,
    StaffFactory,
    SuperuserFactory,
    WorkerFactory,
)
from tests.factories.places import (
    CHOUCHENG,
    CHUITAI,
    CHUITAI_POINT,
    JINHUA,
    NEXT_DOOR,
    NEXT_DOOR_POINT,
    YIJIASHAN,
    YIJIASHAN_POINT,
    YIWU,
    ZHEJIANG,
    next_door,
)
from tests.stations.helpers import make_station, station_data

pytestmark = pytest.mark.django_db

TARGETS = {
    "义驾山": (YIJIASHAN, YIJIASHAN_POINT),
    "吹台": (CHUITAI, CHUITAI_POINT),
    "稠城另一社区": (NEXT_DOOR, NEXT_DOOR_POINT),
}

# (label, role, region) → the targets inside that person's scope.
PEOPLE = {
    "station_keeper@义驾山": (("station_keeper", YIJIASHAN), {"义驾山"}),
    "community_staff@义驾山": (("community_staff", YIJIASHAN), {"义驾山"}),
    "community_staff@吹台": (("community_staff", CHUITAI), {"吹台"}),
    "street_admin@稠城": (("street_admin", CHOUCHENG), {"义驾山", "稠城另一社区"}),
    "district_admin@义乌": (("district_admin", YIWU), {"义驾山", "稠城另一社区"}),
    "city_admin@金华": (("city_admin", JINHUA), {"义驾山", "稠城另一社区"}),
    "province_admin@浙江": (("province_admin", ZHEJIANG), set(TARGETS)),
    "superuser": ("superuser", set(TARGETS)),
    "worker": ("worker", set()),
    "partner": ("partner", set()),
    "anonymous": ("anonymous", set()),
}
STAFF = {label for label, (who, _scope) in PEOPLE.items() if isinstance(who, tuple)}
ACTIONS = ["visible", "update", "set_hours", "add_exception", "remove_exception", "create"]


def person(label: str):
    who = PEOPLE[label][0]
    if who == "superuser":
        return SuperuserFactory()
    if who == "worker":
        return WorkerFactory(home_region_code=None)
    if who == "partner":
        return PartnerUserFactory(partner=None)
    if who == "anonymous":
        return AnonymousUser()
    role, region = who
    return StaffFactory(role=role, region_code=region)


@pytest.fixture
def stations():
    next_door()
    root = SuperuserFactory()
    made = {}
    for name, (region, point) in TARGETS.items():
        station = make_station(user=root, region_code=region, point=point, name=f"{name}驿站",
                               hours=[(0, 9 * 60, 17 * 60)])
        services.station_add_exception(user=root, station_id=station.pk, day=date(2026, 5, 1),
                                       closed=True)
        made[name] = station
    return made


def snapshot(station: Station):
    return (
        Station.objects.values().get(pk=station.pk),
        list(OpeningSpan.objects.filter(station=station).values_list("weekday", "opens",
                                                                      "closes")),
        list(ScheduleException.objects.filter(station=station).values_list("date", "closed")),
    )


def attempt(action: str, user, station: Station, target: str):
    region, point = TARGETS[target]
    if action == "visible":
        return station in Station.objects.visible_to(user)
    if action == "update":
        return services.station_update(user=user, station_id=station.pk, data=station_data(
            region_code=region, point=point, name="改过的名字"))
    if action == "set_hours":
        return services.station_set_hours(user=user, station_id=station.pk,
                                          spans=[(d, 0, 24 * 60) for d in range(7)])
    if action == "add_exception":
        return services.station_add_exception(user=user, station_id=station.pk,
                                              day=date(2026, 10, 1), closed=True)
    if action == "remove_exception":
        exc = ScheduleException.objects.get(station=station)
        return services.station_remove_exception(user=user, station_id=station.pk,
                                                 exception_id=exc.pk)
    if action == "create":
        return services.station_create(user=user, data=station_data(
            region_code=region, point=point, name="新建的站"))
    raise AssertionError(action)


GRID = [
    (label, action, target)
    for label in PEOPLE
    for action in ACTIONS
    for target in TARGETS
]


@pytest.mark.parametrize(("label", "action", "target"), GRID,
                         ids=[f"{p}-{a}-{t}" for p, a, t in GRID])
def test_scope_grid(stations, label, action, target):
    user = person(label)
    station = stations[target]
    allowed = target in PEOPLE[label][1]
    before = snapshot(station)
    count = Station.objects.count()

    if action == "visible":
        assert attempt(action, user, station, target) is allowed
        listed = set(selectors.stations_for_staff(user).values_list("pk", flat=True))
        assert (station.pk in listed) is allowed
        if allowed:
            assert selectors.station_for_staff(user, station.pk) == station
        else:
            with pytest.raises(NotFound) as exc:
                selectors.station_for_staff(user, station.pk)
            assert exc.value.code == "station_not_found"
        return

    if allowed:
        attempt(action, user, station, target)
        after = snapshot(station)
        if action == "create":
            assert Station.objects.count() == count + 1
            assert Station.objects.filter(name="新建的站", region_id=TARGETS[target][0]).exists()
        else:
            assert after != before
        return

    with pytest.raises(ServiceError) as exc:
        attempt(action, user, station, target)
    if label in STAFF:
        # Out of scope looks like nothing is there: 404, and the same answer as for a
        # station id that does not exist at all.
        assert isinstance(exc.value, NotFound), exc.value.code
        assert exc.value.status == 404
        expected = "region_not_found" if action == "create" else "station_not_found"
        assert exc.value.code == expected
    else:
        assert isinstance(exc.value, NotFound | PermissionDenied)
        assert exc.value.status in (403, 404)
    assert snapshot(station) == before
    assert Station.objects.count() == count


@pytest.mark.parametrize("label", sorted(s for s in STAFF if PEOPLE[s][1] != set(TARGETS)))
def test_out_of_scope_is_indistinguishable_from_missing(stations, label):
    user = person(label)
    outside = next(s for name, s in stations.items() if name not in PEOPLE[label][1])
    missing_id = Station.objects.order_by("-pk").first().pk + 1000
    answers = []
    for station_id in (outside.pk, missing_id):
        with pytest.raises(NotFound) as exc:
            services.station_set_hours(user=user, station_id=station_id, spans=[])
        answers.append((exc.value.code, str(exc.value.message), exc.value.status))
    assert answers[0] == answers[1]


def test_staff_cannot_move_a_station_out_of_their_scope(stations):
    admin = StaffFactory(role="district_admin", region_code=YIWU)
    station = stations["义驾山"]
    before = snapshot(station)
    with pytest.raises(NotFound) as exc:
        services.station_update(user=admin, station_id=station.pk,
                                data=station_data(region_code=CHUITAI, point=CHUITAI_POINT))
    assert exc.value.code == "region_not_found"
    assert snapshot(station) == before


def test_keeper_cannot_move_a_station_to_a_neighbouring_community(stations):
    keeper = StaffFactory(role="station_keeper", region_code=YIJIASHAN)
    station = stations["义驾山"]
    before = snapshot(station)
    with pytest.raises(NotFound) as exc:
        services.station_update(user=keeper, station_id=station.pk, data=station_data(
            region_code=NEXT_DOOR, point=NEXT_DOOR_POINT))
    assert exc.value.code == "region_not_found"
    assert snapshot(station) == before


def test_district_admin_may_move_a_station_within_the_district(stations):
    admin = StaffFactory(role="district_admin", region_code=YIWU)
    station = stations["义驾山"]
    services.station_update(user=admin, station_id=station.pk, data=station_data(
        region_code=NEXT_DOOR, point=NEXT_DOOR_POINT))
    station.refresh_from_db()
    assert station.region_id == NEXT_DOOR


def test_exception_of_an_out_of_scope_station_cannot_be_removed_through_an_own_station(stations):
    """Removing needs the exception to belong to the named station: an in-scope station id
    with an out-of-scope exception id must not delete it."""
    keeper = StaffFactory(role="station_keeper", region_code=YIJIASHAN)
    foreign = ScheduleException.objects.get(station=stations["吹台"])
    with pytest.raises(NotFound):
        services.station_remove_exception(user=keeper, station_id=stations["义驾山"].pk,
                                          exception_id=foreign.pk)
    assert ScheduleException.objects.filter(pk=foreign.pk).exists()


def test_a_staff_member_moved_to_another_region_loses_the_old_one(stations):
    staff = StaffFactory(region_code=YIJIASHAN)
    assert stations["义驾山"] in Station.objects.visible_to(staff)
    profile = staff.staff_profile
    profile.org_unit = StaffFactory(region_code=CHUITAI).staff_profile.org_unit
    profile.save()
    staff = User.objects.get(pk=staff.pk)
    assert set(Station.objects.visible_to(staff)) == {stations["吹台"]}


# --- query budgets -------------------------------------------------------------------------


@pytest.fixture
def thirty_stations():
    next_door()
    root = SuperuserFactory()
    made = []
    for n in range(30):
        region, point = (YIJIASHAN, YIJIASHAN_POINT) if n % 2 else (NEXT_DOOR,
                                                                      NEXT_DOOR_POINT)
        made.append(make_station(user=root, region_code=region, point=point, name=f"站{n:02d}"))
    make_station(user=root, region_code=CHUITAI, point=CHUITAI_POINT, name="吹台站")
    workers = [WorkerFactory(home_region_code=None) for _ in range(3)]
    now = timezone.now()
    # Five minutes ago, unless that was before local midnight: the suite may run at 00:03.
    earlier_today = max(now - timedelta(minutes=5), selectors.local_day_start())
    CheckIn.objects.bulk_create(
        CheckIn(station=s, worker=w, at=earlier_today)
        for s in made[:10] for w in workers
    )
    CheckIn.objects.bulk_create(  # yesterday's visits do not count today
        CheckIn(station=s, worker=workers[0], at=now - timedelta(days=2)) for s in made
    )
    return made


@pytest.mark.parametrize("label", ["district_admin@义乌", "street_admin@稠城",
                                   "province_admin@浙江", "community_staff@义驾山"])
def test_stations_for_staff_is_not_n_plus_1(thirty_stations, label,
                                            django_assert_max_num_queries):
    user = User.objects.get(pk=person(label).pk)  # nothing cached on the user
    with django_assert_max_num_queries(4):
        rows = [
            (s.pk, s.name, s.region.name, s.visits_today, s.amenities)
            for s in selectors.stations_for_staff(user)
        ]
    prefix = {"district_admin@义乌": YIWU, "street_admin@稠城": CHOUCHENG,
              "province_admin@浙江": "33", "community_staff@义驾山": YIJIASHAN}[label]
    expected = {s.pk for s in Station.objects.all() if s.region_id.startswith(prefix)}
    assert len(expected) == {YIWU: 30, CHOUCHENG: 30, "33": 31, YIJIASHAN: 15}[prefix]
    assert {r[0] for r in rows} == expected
    visits = {r[0]: r[3] for r in rows}
    for station in thirty_stations[:10]:
        if station.pk in visits:
            assert visits[station.pk] == 3
    for station in thirty_stations[10:]:
        if station.pk in visits:
            assert visits[station.pk] == 0


def test_stations_for_staff_search(thirty_stations):
    admin = StaffFactory(role="district_admin", region_code=YIWU)
    found = {s.name for s in selectors.stations_for_staff(admin, search="站0")}
    assert found == {f"站0{n}" for n in range(10)}
    assert not list(selectors.stations_for_staff(admin, search="吹台"))


def test_visible_to_is_one_query_once_the_profile_is_loaded(thirty_stations,
                                                             django_assert_num_queries):
    admin = StaffFactory(role="district_admin", region_code=YIWU)
    admin = User.objects.select_related("staff_profile__org_unit__region").get(pk=admin.pk)
    with django_assert_num_queries(1):
        assert len(list(Station.objects.visible_to(admin))) == 30

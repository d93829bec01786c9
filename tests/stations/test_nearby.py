"""The nearby search is exactly a brute-force scan of every station.

A few hundred stations in a small area of 义乌 (some exactly on H3 cell vertices and edges,
some sharing one spot), stations in other cities and outside Zhejiang, inactive ones, and
hours of every shape (overnight, round the clock, split, weekdays, dated exceptions, a
holiday campaign). Hypothesis picks query points (near, exactly on stations and cell
vertices, anywhere in the province, anywhere on Earth, on an H3 pentagon), limits, radii,
amenity sets and moments; `search.stations_nearby` and GET /api/v1/stations/nearby
must give what the brute force below gives: same ids, same order (distance, then id),
same distances, same open/next-change status.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta

import h3
import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nuanxin.geo.datum import CRS, from_wgs84, to_wgs84
from nuanxin.geo.spatial import H3_RESOLUTION, cell_of, haversine_m
from nuanxin.stations import selectors, services
from nuanxin.stations.amenities import AMENITIES, bits_for, codes_for
from nuanxin.stations.api import NearbyOut
from nuanxin.stations.models import (
    HolidayCampaign,
    OpeningSpan,
    ScheduleException,
    Station,
)
from nuanxin.stations.nearby import search
from nuanxin.stations.presenters import aware
from nuanxin.stations.schedule import Schedule, status_at
from tests.factories.people import SuperuserFactory
from tests.factories.places import YIJIASHAN, YIJIASHAN_POINT, YIWU, ZHEJIANG

pytestmark = pytest.mark.django_db

CENTRE = YIJIASHAN_POINT  # inside 义驾山社区's district
CODES = sorted(AMENITIES)
H = 60

# Far in the future, so the index (which loads exceptions and campaigns from yesterday on)
# holds every dated rule the brute force knows about.
MONDAY = date(2090, 1, 2)
assert MONDAY.weekday() == 0
EXCEPTION_DAY = MONDAY + timedelta(days=2)  # a Wednesday
CAMPAIGN = (MONDAY + timedelta(days=4), MONDAY + timedelta(days=6))  # Friday to Sunday


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute)


NOWS = [
    at(MONDAY, 1, 30),  # Sunday's overnight spans are still open
    at(MONDAY, 2, 0),  # ... and close exactly now
    at(MONDAY + timedelta(days=1), 8, 0),  # opening moment
    at(MONDAY + timedelta(days=1), 12, 30),  # between split spans
    at(EXCEPTION_DAY, 10, 30),  # dated exceptions apply
    at(CAMPAIGN[0], 3, 0),  # the campaign keeps its stations open all night
    at(MONDAY + timedelta(days=5), 23, 59),  # Saturday, a minute before midnight
]

HOURS = {
    "never": [],
    "24h": [(w, 0, 24 * H) for w in range(7)],
    "day": [(w, 8 * H, 20 * H) for w in range(7)],
    "weekdays": [(w, 9 * H, 18 * H) for w in range(5)],
    "overnight": [(w, 16 * H, 2 * H) for w in range(7)],
    "split": [(w, s, e) for w in range(7) for s, e in ((8 * H, 12 * H), (14 * H, 18 * H))],
    "weekend_night": [(5, 20 * H, 24 * H), (6, 0, 6 * H), (6, 22 * H, 4 * H)],
}


def _layout(seed: int = 7):
    """The stations as plain data (decided at import, so strategies can sample from it)."""
    rng = random.Random(seed)
    stations = []

    def add(lat, lng, *, active=True):
        kind = rng.choice(sorted(HOURS))
        exception = rng.choice([None, None, None, "closed", (10 * H, 11 * H), (22 * H, 3 * H)])
        stations.append({
            "lat": lat, "lng": lng, "active": active, "hours": kind,
            "amenity_bits": bits_for(rng.sample(CODES, rng.randint(0, 6))),
            "exception": exception, "campaign": rng.random() < 0.15,
        })

    # A dense patch ±3 km around the centre.
    for _ in range(300):
        add(round(CENTRE[0] + rng.uniform(-0.03, 0.03), 6),
            round(CENTRE[1] + rng.uniform(-0.03, 0.03), 6))
    # Exactly on cell vertices, and on points along cell edges, around the centre.
    border = []
    for cell in sorted(h3.grid_disk(cell_of(*CENTRE), 2)):
        boundary = h3.cell_to_boundary(cell)
        for (a_lat, a_lng), (b_lat, b_lng) in zip(boundary, boundary[1:] + boundary[:1],
                                                  strict=True):
            border.append((a_lat, a_lng))
            border.append(((a_lat + b_lat) / 2, (a_lng + b_lng) / 2))
    for lat, lng in rng.sample(border, 60):
        add(lat, lng)
    # Several stations on one spot: ties broken by id.
    for _ in range(3):
        spot = stations[rng.randrange(len(stations))]
        for _ in range(3):
            add(spot["lat"], spot["lng"])
    # Inactive stations never show.
    for _ in range(15):
        add(round(CENTRE[0] + rng.uniform(-0.01, 0.01), 6),
            round(CENTRE[1] + rng.uniform(-0.01, 0.01), 6), active=False)
    # Other cities, and two places far outside Zhejiang.
    for lat, lng in [(30.2590, 120.1490), (27.9939, 120.6994), (30.0160, 122.1070),
                     (28.9700, 118.8700), (30.8940, 120.0880), (29.8683, 121.5440),
                     (39.9042, 116.4074), (43.8256, 87.6168)]:
        for _ in range(3):
            add(round(lat + rng.uniform(-0.02, 0.02), 6), round(lng + rng.uniform(-0.02, 0.02), 6))
    return stations, border


LAYOUT, BORDER_POINTS = _layout()
STATION_POINTS = [(s["lat"], s["lng"]) for s in LAYOUT]
PENTAGON_POINTS = [h3.cell_to_latlng(c) for c in sorted(h3.get_pentagons(H3_RESOLUTION))]


def build_schedule(spec: dict) -> Schedule:
    schedule = Schedule()
    for w, o, c in HOURS[spec["hours"]]:
        schedule.weekly.setdefault(w, []).append((o, c))
    if spec["exception"] == "closed":
        schedule.exceptions[EXCEPTION_DAY] = []
    elif spec["exception"]:
        schedule.exceptions[EXCEPTION_DAY] = [spec["exception"]]
    if spec["campaign"]:
        schedule.campaigns.append((CAMPAIGN[0], CAMPAIGN[1], (0, 24 * H)))
    return schedule


def write_stations(layout: list[dict], *, name_prefix: str = "测试站") -> list[dict]:
    """Write `layout` straight to the tables; return rows with their ids and schedules."""
    stations = Station.objects.bulk_create([
        Station(name=f"{name_prefix}{i}", type=["center", "post", "partner_point"][i % 3],
                region_id=YIWU, lat=s["lat"], lng=s["lng"], h3_cell=cell_of(s["lat"], s["lng"]),
                amenity_bits=s["amenity_bits"], is_active=s["active"])
        for i, s in enumerate(layout)
    ])
    spans, exceptions, in_campaign = [], [], []
    for station, spec in zip(stations, layout, strict=True):
        spans += [OpeningSpan(station=station, weekday=w, opens=o, closes=c)
                  for w, o, c in HOURS[spec["hours"]]]
        if spec["exception"] == "closed":
            exceptions.append(ScheduleException(station=station, date=EXCEPTION_DAY,
                                                closed=True))
        elif spec["exception"]:
            o, c = spec["exception"]
            exceptions.append(ScheduleException(station=station, date=EXCEPTION_DAY,
                                                closed=False, opens=o, closes=c))
        if spec["campaign"]:
            in_campaign.append(station)
    OpeningSpan.objects.bulk_create(spans)
    ScheduleException.objects.bulk_create(exceptions)
    campaign = HolidayCampaign.objects.create(name="春节“不打烊”", region_id=ZHEJIANG,
                                              starts_on=CAMPAIGN[0], ends_on=CAMPAIGN[1],
                                              opens=0, closes=24 * H)
    campaign.stations.set(in_campaign)
    services.bump_index_version()
    return [
        {**spec, "id": station.pk, "name": station.name, "type": station.type,
         "schedule": build_schedule(spec)}
        for station, spec in zip(stations, layout, strict=True)
    ]


def brute_force(rows, *, lat, lng, limit, radius_m, required_bits=0, open_now=False, now):
    """Every active station, filtered and sorted the obvious way."""
    found = []
    for row in rows:
        if not row["active"] or row["amenity_bits"] & required_bits != required_bits:
            continue
        distance = haversine_m(lat, lng, row["lat"], row["lng"])
        if distance > radius_m:
            continue
        status = status_at(row["schedule"], now)
        if open_now and not status.open_now:
            continue
        found.append((distance, row["id"], status))
    found.sort(key=lambda f: (f[0], f[1]))
    return found[:limit]


@pytest.fixture
def field():
    return write_stations(LAYOUT)


near = st.tuples(st.floats(CENTRE[0] - 0.05, CENTRE[0] + 0.05),
                 st.floats(CENTRE[1] - 0.05, CENTRE[1] + 0.05))
points = st.one_of(
    near,
    near,
    st.sampled_from(STATION_POINTS),
    st.sampled_from(BORDER_POINTS),
    st.tuples(st.floats(27.0, 31.2), st.floats(118.0, 123.0)),  # anywhere in the province
    st.tuples(st.floats(-89.9, 89.9), st.floats(-180.0, 180.0)),  # anywhere on Earth
    st.sampled_from(PENTAGON_POINTS),
)
radii = st.one_of(st.integers(1, 100_000),
                  st.sampled_from([1, 50, 300, 1_000, 2_500, 5_000, 20_000, 100_000]))
amenity_sets = st.lists(st.sampled_from(CODES), max_size=3, unique=True)
# Hypothesis: no deadline (tests never time things); one station layout per test function.
exhaustive = settings(max_examples=300, deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture,
                                             HealthCheck.too_slow])


def assert_same(hits, expected):
    assert [h.station.id for h in hits] == [e[1] for e in expected]
    assert [h.distance_m for h in hits] == [e[0] for e in expected]
    assert [h.status for h in hits] == [e[2] for e in expected]


@pytest.fixture(params=["cell lists", "short cell lists", "rings only"])
def search_path(request, monkeypatch):
    """The search answers from each cell's nearest stations when they prove the answer,
    else from rings of cells: check each path on its own, and short lists that often
    cannot prove it (so the hand-over is exercised)."""
    if request.param == "short cell lists":
        monkeypatch.setattr(search, "NEIGHBOURS", 6)
    elif request.param == "rings only":
        monkeypatch.setattr(search, "_neighbours", lambda index, origin: None)
    return request.param


@exhaustive
@given(point=points, limit=st.integers(1, 50), radius_m=radii, amenities=amenity_sets,
       open_now=st.booleans(), now=st.sampled_from(NOWS))
def test_selector_equals_brute_force(field, search_path, point, limit, radius_m, amenities,
                                     open_now, now):
    query = {"lat": point[0], "lng": point[1], "limit": limit, "radius_m": radius_m,
             "required_bits": bits_for(amenities), "open_now": open_now, "now": now}
    assert_same(search.stations_nearby(**query), brute_force(field, **query))


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(point=points, limit=st.integers(1, 50), radius_m=radii, amenities=amenity_sets,
       open_now=st.booleans(), now=st.sampled_from(NOWS), crs=st.sampled_from(list(CRS)))
def test_api_equals_brute_force(field, api, monkeypatch, point, limit, radius_m, amenities,
                                open_now, now, crs):
    monkeypatch.setattr(selectors, "local_now", lambda: now)
    lat, lng = point
    params = {"lat": repr(lat), "lng": repr(lng), "limit": limit, "radius_m": radius_m,
              "amenity": amenities, "crs": crs.value}
    if open_now:
        params["open_now"] = "true"
    response = api.get("/api/v1/stations/nearby", params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    NearbyOut.model_validate(body)  # the documented shape
    # The API takes and gives coordinates in `crs`; the search itself runs in WGS-84.
    wgs_lat, wgs_lng = to_wgs84(lat, lng, crs)
    expected = brute_force(field, lat=wgs_lat, lng=wgs_lng, limit=limit, radius_m=radius_m,
                           required_bits=bits_for(amenities), open_now=open_now, now=now)
    by_id = {row["id"]: row for row in field}
    want = []
    for distance, station_id, status in expected:
        row = by_id[station_id]
        out_lat, out_lng = from_wgs84(row["lat"], row["lng"], crs)
        want.append({
            "id": station_id, "name": row["name"], "type": row["type"],
            "lat": out_lat, "lng": out_lng, "distance_m": round(distance),
            "open_now": status.open_now, "next_change": aware(status.next_change),
            "amenities": [{"code": code, "label": str(AMENITIES[code][1])}
                          for code in codes_for(row["amenity_bits"])],
        })
    assert body == {"results": want}


def test_the_body_is_plain_json_in_schema_order(field, api):
    response = api.get("/api/v1/stations/nearby", {"lat": CENTRE[0], "lng": CENTRE[1],
                                                   "limit": 3})
    first = json.loads(response.content)["results"][0]
    assert list(first) == ["id", "name", "type", "lat", "lng", "distance_m", "open_now",
                           "next_change", "amenities"]
    assert list(NearbyOut.model_json_schema()["$defs"]["NearbyStation"]["properties"]) == \
        list(first)


def test_labels_follow_the_request_language(field, api):
    from django.utils import translation

    query = {"lat": CENTRE[0], "lng": CENTRE[1], "limit": 5, "amenity": ["toilet"]}
    for language in ["zh-hans", "en", "zh-hans"]:  # remembered pieces never cross languages
        body = api.get("/api/v1/stations/nearby", query,
                       HTTP_ACCEPT_LANGUAGE=language).json()
        with translation.override(language):
            label = str(AMENITIES["toilet"][1])
        assert body["results"]
        for result in body["results"]:
            assert {"code": "toilet", "label": label} in result["amenities"]


# --- hours at fixed moments ------------------------------------------------------------


@pytest.mark.parametrize(("hours", "now", "is_open"), [
    ("overnight", at(MONDAY, 1, 30), True),  # Sunday 16:00 → Monday 02:00
    ("overnight", at(MONDAY, 2, 0), False),
    ("overnight", at(MONDAY, 15, 59), False),
    ("overnight", at(MONDAY, 16, 0), True),
    ("24h", at(MONDAY + timedelta(days=3), 0, 0), True),
    ("24h", at(MONDAY + timedelta(days=6), 23, 59), True),
    ("never", at(MONDAY, 12, 0), False),
    ("weekend_night", at(MONDAY, 3, 59), True),  # Sunday 22:00 → Monday 04:00
    ("weekend_night", at(MONDAY, 4, 0), False),
    ("split", at(MONDAY, 12, 30), False),
    ("split", at(MONDAY, 14, 0), True),
])
def test_open_now_at_fixed_moments(hours, now, is_open):
    spec = {"lat": CENTRE[0], "lng": CENTRE[1], "active": True, "hours": hours,
            "amenity_bits": 0, "exception": None, "campaign": False}
    (row,) = write_stations([spec])
    query = {"lat": CENTRE[0], "lng": CENTRE[1], "limit": 5, "radius_m": 100}
    assert [h.station.id for h in search.stations_nearby(**query, open_now=True, now=now)] \
        == ([row["id"]] if is_open else [])
    (hit,) = search.stations_nearby(**query, now=now)
    assert hit.status.open_now is is_open
    assert hit.status == status_at(row["schedule"], now)


def test_a_campaign_and_an_exception_change_open_now():
    spec = {"lat": CENTRE[0], "lng": CENTRE[1], "active": True, "hours": "day",
            "amenity_bits": 0, "exception": "closed", "campaign": True}
    (row,) = write_stations([spec])
    query = {"lat": CENTRE[0], "lng": CENTRE[1], "limit": 1, "radius_m": 10, "open_now": True}
    assert search.stations_nearby(**query, now=at(EXCEPTION_DAY, 12)) == []
    assert [h.station.id for h in search.stations_nearby(**query, now=at(CAMPAIGN[0], 3))] \
        == [row["id"]]
    assert [h.station.id for h in search.stations_nearby(**query, now=at(MONDAY, 12))] \
        == [row["id"]]


# --- the search's own paths -------------------------------------------------------------


def test_far_from_every_station_the_rings_run_out_and_everything_is_scanned(field,
                                                                            monkeypatch):
    scans = []
    real_scan = search._scan

    def spy(index, cells, *args):
        scans.append(cells is index.cells)
        return real_scan(index, cells, *args)

    monkeypatch.setattr(search, "_scan", spy)
    point = {"lat": 24.0, "lng": 126.0}  # the East China Sea: ~600 km from any station
    query = {**point, "limit": 5, "radius_m": 100_000, "now": NOWS[0]}
    assert search.stations_nearby(**query) == []
    assert scans[-1] is True  # the fallback full scan ran, once, after MAX_RINGS rings
    assert scans.count(True) == 1
    assert len(scans) >= search.MAX_RINGS + 2
    # A radius that reaches the stations: still exact.
    query = {"lat": 30.5, "lng": 123.5, "limit": 7, "radius_m": 100_000, "now": NOWS[0]}
    assert_same(search.stations_nearby(**query), brute_force(field, **query))


def test_an_h3_pentagon_falls_back_to_the_full_scan(field):
    for lat, lng in PENTAGON_POINTS:
        query = {"lat": lat, "lng": lng, "limit": 3, "radius_m": 100_000, "now": NOWS[0]}
        assert_same(search.stations_nearby(**query), brute_force(field, **query))


def test_stations_on_cell_vertices_are_found_from_every_neighbouring_cell(field,
                                                                         search_path):
    for lat, lng in BORDER_POINTS[:40]:
        for dlat, dlng in [(1e-4, 0), (-1e-4, 0), (0, 1e-4), (0, -1e-4), (0, 0)]:
            query = {"lat": lat + dlat, "lng": lng + dlng, "limit": 4, "radius_m": 2_000,
                     "now": NOWS[2]}
            assert_same(search.stations_nearby(**query), brute_force(field, **query))


def test_province_spread_equals_brute_force(search_path):
    """3,000 stations over the whole province, denser in the cities (the shape of the
    province-scale demo data), queried from everywhere."""
    rng = random.Random(11)
    cities = [(30.27, 120.16), (29.87, 121.55), (28.00, 120.67), (29.31, 120.08),
              (30.75, 120.76), (30.00, 120.58), (28.66, 121.42), (28.97, 118.87)]
    layout = []
    for i in range(3000):
        if i % 3:
            clat, clng = rng.choice(cities)
            lat, lng = clat + rng.gauss(0, 0.08), clng + rng.gauss(0, 0.08)
        else:
            lat, lng = rng.uniform(27.1, 31.1), rng.uniform(118.1, 122.9)
        layout.append({"lat": round(lat, 6), "lng": round(lng, 6), "active": rng.random() > 0.02,
                       "hours": rng.choice(sorted(HOURS)),
                       "amenity_bits": bits_for(rng.sample(CODES, rng.randint(2, 9))),
                       "exception": None, "campaign": False})
    rows = write_stations(layout, name_prefix="全省站")
    for _ in range(400):
        query = {"lat": rng.uniform(27.0, 31.2), "lng": rng.uniform(118.0, 123.0),
                 "limit": rng.choice([1, 5, 10, 10, 10, 50]),
                 "radius_m": rng.choice([1_000, 5_000, 20_000, 20_000, 100_000]),
                 "required_bits": bits_for(rng.sample(CODES, rng.choice([0, 0, 0, 1, 2]))),
                 "open_now": rng.random() < 0.3, "now": rng.choice(NOWS)}
        assert_same(search.stations_nearby(**query), brute_force(rows, **query))


# --- a change is seen by the next search ------------------------------------------------


def _data(**overrides) -> services.StationData:
    values = {"name": "义驾山暖新驿站", "type": "post", "region_code": YIJIASHAN,
              "lat": CENTRE[0], "lng": CENTRE[1], "amenities": ("hot_water",)}
    values.update(overrides)
    return services.StationData(**values)


def _ids(**query):
    base = {"lat": CENTRE[0], "lng": CENTRE[1], "limit": 10, "radius_m": 5_000,
            "now": at(MONDAY, 12)}
    return [(h.station.id, round(h.distance_m), h.station.name)
            for h in search.stations_nearby(**{**base, **query})]


def check_changes_are_seen(between=lambda: None):
    admin = SuperuserFactory()
    assert _ids() == []
    station = services.station_create(user=admin, data=_data())
    between()
    assert _ids() == [(station.pk, 0, "义驾山暖新驿站")]

    moved = (CENTRE[0] + 0.005, CENTRE[1])  # ~556 m north
    services.station_update(user=admin, station_id=station.pk,
                            data=_data(name="新名字", lat=moved[0], lng=moved[1],
                                       amenities=("toilet",)))
    between()
    assert _ids() == [(station.pk, round(haversine_m(*CENTRE, *moved)), "新名字")]
    assert _ids(required_bits=bits_for(["hot_water"])) == []
    assert [i for i, _d, _n in _ids(required_bits=bits_for(["toilet"]))] == [station.pk]

    services.station_set_hours(user=admin, station_id=station.pk,
                               spans=[(w, 16 * H, 2 * H) for w in range(7)])
    between()
    assert _ids(open_now=True) == []
    assert len(_ids(open_now=True, now=at(MONDAY, 1))) == 1

    services.station_add_exception(user=admin, station_id=station.pk, day=MONDAY,
                                   closed=True)
    between()
    assert _ids(open_now=True, now=at(MONDAY, 17)) == []

    services.station_update(user=admin, station_id=station.pk,
                            data=_data(name="新名字", lat=moved[0], lng=moved[1],
                                       is_active=False))
    between()
    assert _ids() == []


def test_a_change_through_the_services_is_seen_by_the_next_search():
    check_changes_are_seen()


def test_committed_changes_are_seen_by_a_fresh_connection(regions):
    """Outside a transaction, as in the server: every request starts without a database
    connection (on SQLite the version is then read by the search's own small connection).
    """
    check_changes_are_seen(between=connection.close)


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "code"), [
    ({"lat": 91, "lng": 120}, "invalid_input"),
    ({"lat": -90.5, "lng": 120}, "invalid_input"),
    ({"lat": 29, "lng": 181}, "invalid_input"),
    ({"lat": 29, "lng": "abc"}, "invalid_input"),
    ({"lat": "", "lng": 120}, "invalid_input"),
    ({"lat": "nan", "lng": 120}, "invalid_input"),
    ({"lng": 120}, "invalid_input"),
    ({"lat": 29, "lng": 120, "limit": 0}, "invalid_input"),
    ({"lat": 29, "lng": 120, "limit": 51}, "invalid_input"),
    ({"lat": 29, "lng": 120, "limit": "ten"}, "invalid_input"),
    ({"lat": 29, "lng": 120, "radius_m": 0}, "invalid_input"),
    ({"lat": 29, "lng": 120, "radius_m": 100_001}, "invalid_input"),
    ({"lat": 29, "lng": 120, "open_now": "maybe"}, "invalid_input"),
    ({"lat": 29, "lng": 120, "crs": "mars"}, "invalid_input"),
    ({"lat": 29, "lng": 120, "amenity": "jacuzzi"}, "unknown_amenity"),
    ({"lat": 29, "lng": 120, "amenity": ["toilet", "jacuzzi"]}, "unknown_amenity"),
])
def test_bad_input_is_a_json_400(api, params, code):
    response = api.get("/api/v1/stations/nearby", params)
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert body["message"] and body["message_en"]
    if code == "unknown_amenity":
        assert "jacuzzi" in body["unknown"]

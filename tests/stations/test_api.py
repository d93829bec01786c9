"""The public station API, check-in, health, the OpenAPI document and the error shape."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from unittest import mock

import pytest
from django.test import Client

from nuanxin.geo.datum import CRS, from_wgs84, to_wgs84
from nuanxin.geo.spatial import haversine_m
from nuanxin.stations import qr, services
from nuanxin.stations.models import CheckIn, HolidayCampaign
from tests.factories.people import StaffFactory, SuperuserFactory, WorkerFactory
from tests.factories.places import CHUITAI, CHUITAI_POINT, YIJIASHAN, YIJIASHAN_POINT
from tests.stations.helpers import make_station, station_data

pytestmark = pytest.mark.django_db

H = 60
# Monday 2 March 2026, 10:00 in Zhejiang (02:00 UTC).
MONDAY_10AM = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["message_en"], str) and body["message_en"]
    assert "Traceback" not in response.content.decode()
    return body


@pytest.fixture
def root():
    return SuperuserFactory()


@pytest.fixture
def station(root):
    return make_station(user=root, name="义驾山社区党群服务中心", night_light=True,
                        amenities=("hot_water", "phone_charging", "toilet"),
                        hours=[(d, 8 * H, 20 * H) for d in range(7)])


# --- GET /api/v1/stations/{id} -------------------------------------------------------------


def test_station_detail(api, root, station):
    with mock.patch("django.utils.timezone.now", return_value=MONDAY_10AM):
        services.station_add_exception(user=root, station_id=station.pk, day=date(2026, 3, 4),
                                       closed=True, reason="检修")
        services.station_add_exception(user=root, station_id=station.pk, day=date(2026, 3, 5),
                                       closed=False, opens=18 * H, closes=2 * H)
        response = api.get(f"/api/v1/stations/{station.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == station.pk
    assert body["name"] == "义驾山社区党群服务中心"
    assert body["type"] == "center"
    assert body["region"] == {"code": YIJIASHAN, "name": "义驾山社区"}
    assert (body["lat"], body["lng"]) == YIJIASHAN_POINT
    assert [a["code"] for a in body["amenities"]] == ["hot_water", "phone_charging", "toilet"]
    assert all(a["label"] for a in body["amenities"])
    assert body["night_light"] is True
    assert body["open_now"] is True
    assert body["next_change"] == "2026-03-02T20:00:00+08:00"
    assert body["weekly_hours"][0] == {"weekday": "mon",
                                       "spans": [{"opens": "08:00", "closes": "20:00"}]}
    assert [d["weekday"] for d in body["weekly_hours"]] == \
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert body["today"] == {"date": "2026-03-02", "weekday": "mon",
                             "spans": [{"opens": "08:00", "closes": "20:00"}]}
    week = body["next_7_days"]
    assert [d["date"] for d in week] == [f"2026-03-0{n}" for n in range(2, 9)]
    assert week[0] == body["today"]
    assert week[2]["spans"] == []  # closed for maintenance
    assert week[3]["spans"] == [{"opens": "18:00", "closes": "02:00"}]
    assert week[6]["weekday"] == "sun"


def test_station_detail_late_evening_in_local_time(api, root):
    """At 23:30 in Zhejiang (15:30 UTC) "today" is the local date, not the UTC one."""
    station = make_station(user=root, hours=[(0, 16 * H, 2 * H)])
    with mock.patch("django.utils.timezone.now",
                    return_value=datetime(2026, 3, 1, 16, 30, tzinfo=UTC)):  # Mon 00:30 local
        body = api.get(f"/api/v1/stations/{station.pk}").json()
    assert body["today"]["date"] == "2026-03-02"
    assert body["open_now"] is False
    assert body["next_change"] == "2026-03-02T16:00:00+08:00"
    with mock.patch("django.utils.timezone.now",
                    return_value=datetime(2026, 3, 2, 17, 30, tzinfo=UTC)):  # Tue 01:30 local
        body = api.get(f"/api/v1/stations/{station.pk}").json()
    assert body["today"]["weekday"] == "tue"
    assert body["open_now"] is True
    assert body["next_change"] == "2026-03-03T02:00:00+08:00"


def test_station_open_round_the_clock(api, root):
    station = make_station(user=root, hours=[(d, 0, 24 * H) for d in range(7)])
    body = api.get(f"/api/v1/stations/{station.pk}").json()
    assert body["open_now"] is True
    assert body["next_change"] is None
    assert body["today"]["spans"] == [{"opens": "00:00", "closes": "24:00"}]


def _campaign(station, starts_on, ends_on, opens, closes):
    campaign = HolidayCampaign.objects.create(name="春节不打烊", region_id=YIJIASHAN,
                                              starts_on=starts_on, ends_on=ends_on,
                                              opens=opens, closes=closes)
    campaign.stations.add(station)
    return campaign


def test_station_detail_shows_a_holiday_campaign(api, root):
    """A station closed at weekends joins 春节"不打烊" for Saturday and Sunday."""
    station = make_station(user=root, hours=[(d, 9 * H, 17 * H) for d in range(5)])
    _campaign(station, date(2026, 3, 7), date(2026, 3, 8), 0, 24 * H)
    with mock.patch("django.utils.timezone.now", return_value=MONDAY_10AM):
        body = api.get(f"/api/v1/stations/{station.pk}").json()
    week = {d["date"]: d["spans"] for d in body["next_7_days"]}
    assert week["2026-03-06"] == [{"opens": "09:00", "closes": "17:00"}]
    assert week["2026-03-07"] == [{"opens": "00:00", "closes": "24:00"}]
    assert week["2026-03-08"] == [{"opens": "00:00", "closes": "24:00"}]
    saturday = datetime(2026, 3, 6, 19, 0, tzinfo=UTC)  # Saturday 03:00 local
    with mock.patch("django.utils.timezone.now", return_value=saturday):
        body = api.get(f"/api/v1/stations/{station.pk}").json()
    assert body["open_now"] is True
    assert body["next_change"] == "2026-03-09T00:00:00+08:00"


def test_campaign_overnight_span_runs_past_its_last_day(api, root):
    station = make_station(user=root, hours=[])
    _campaign(station, date(2026, 2, 28), date(2026, 3, 1), 18 * H, 2 * H)
    monday_1am = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
    with mock.patch("django.utils.timezone.now", return_value=monday_1am):
        body = api.get(f"/api/v1/stations/{station.pk}").json()
    assert body["open_now"] is True
    assert body["next_change"] == "2026-03-02T02:00:00+08:00"


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_station_detail_honours_crs(api, station, crs):
    body = api.get(f"/api/v1/stations/{station.pk}?crs={crs}").json()
    assert (body["lat"], body["lng"]) == from_wgs84(*YIJIASHAN_POINT, CRS(crs))
    assert haversine_m(*YIJIASHAN_POINT, body["lat"], body["lng"]) > 100
    back = to_wgs84(body["lat"], body["lng"], CRS(crs))
    assert haversine_m(*YIJIASHAN_POINT, *back) < 1.0


def test_station_detail_bad_crs(api, station):
    assert_error(api.get(f"/api/v1/stations/{station.pk}?crs=epsg3857"), 400, "invalid_input")


def test_inactive_station_is_404(api, root, station):
    services.station_update(user=root, station_id=station.pk,
                            data=station_data(is_active=False))
    assert_error(api.get(f"/api/v1/stations/{station.pk}"), 404, "station_not_found")


@pytest.mark.parametrize("path", ["/api/v1/stations/999999", "/api/v1/stations/0",
                                  "/api/v1/stations/abc", "/api/v1/stations/99999999999999999999",
                                  "/api/v1/stations/-1"])
def test_unknown_station_is_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response.json()["code"] in {"station_not_found", "not_found"}
    assert_error(response, 404, response.json()["code"])


def test_station_detail_query_budget(api, station, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        assert api.get(f"/api/v1/stations/{station.pk}").status_code == 200


# --- GET /api/v1/stations.geojson ----------------------------------------------------------


def geojson(api, query=""):
    response = api.get(f"/api/v1/stations.geojson{query}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/geo+json")
    return json.loads(response.content)


def test_geojson_feature_collection(api, root, station):
    other = make_station(user=root, region_code=CHUITAI, point=CHUITAI_POINT, name="吹台社区")
    hidden = make_station(user=root, name="停用的站")
    services.station_update(user=root, station_id=hidden.pk,
                            data=station_data(name="停用的站", is_active=False))
    body = geojson(api)
    assert body["type"] == "FeatureCollection"
    features = {f["id"]: f for f in body["features"]}
    assert set(features) == {station.pk, other.pk}
    feature = features[station.pk]
    assert feature["type"] == "Feature"
    assert feature["geometry"] == {"type": "Point",
                                   "coordinates": [YIJIASHAN_POINT[1], YIJIASHAN_POINT[0]]}
    props = feature["properties"]
    assert props["name"] == "义驾山社区党群服务中心"
    assert props["type"] == "center"
    assert props["amenities"] == ["hot_water", "phone_charging", "toilet"]
    assert props["night_light"] is True
    assert features[other.pk]["geometry"]["coordinates"] == [CHUITAI_POINT[1], CHUITAI_POINT[0]]


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_geojson_honours_crs(api, station, crs):
    body = geojson(api, f"?crs={crs}")
    lng, lat = body["features"][0]["geometry"]["coordinates"]
    assert (lat, lng) == from_wgs84(*YIJIASHAN_POINT, CRS(crs))
    assert haversine_m(*YIJIASHAN_POINT, *to_wgs84(lat, lng, CRS(crs))) < 1.0


def test_geojson_empty(api):
    assert geojson(api) == {"type": "FeatureCollection", "crs_name": "wgs84", "features": []}


def test_geojson_bad_crs(api):
    assert_error(api.get("/api/v1/stations.geojson?crs=osgb"), 400, "invalid_input")


def test_geojson_query_budget(api, root, django_assert_max_num_queries):
    for n in range(30):
        make_station(user=root, name=f"站{n}")
    with django_assert_max_num_queries(2):
        body = geojson(api)
    assert len(body["features"]) == 30


# --- POST /api/v1/stations/checkins --------------------------------------------------------


def post_json(client, url, payload):
    return client.post(url, data=json.dumps(payload), content_type="application/json")


@pytest.fixture
def worker_client(api):
    worker = WorkerFactory(home_region_code=None)
    api.force_login(worker)
    api.worker = worker
    return api


def test_checkin_as_a_worker(worker_client, station):
    token = qr.station_token(station.pk)
    first = post_json(worker_client, "/api/v1/stations/checkins", {"token": token})
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["station_id"] == station.pk
    assert body["station_name"] == "义驾山社区党群服务中心"
    assert body["recorded"] is True
    assert body["message"]
    assert datetime.fromisoformat(body["checked_in_at"]).tzinfo is not None

    again = post_json(worker_client, "/api/v1/stations/checkins", {"token": token})
    assert again.status_code == 200
    repeat = again.json()
    assert repeat["recorded"] is False
    assert repeat["message"] and repeat["message"] != body["message"]
    assert repeat["checked_in_at"] == body["checked_in_at"]
    assert CheckIn.objects.filter(worker=worker_client.worker).count() == 1


def test_checkin_needs_login(api, station):
    response = post_json(api, "/api/v1/stations/checkins", {"token": qr.station_token(station.pk)})
    assert_error(response, 401, "not_authenticated")
    assert CheckIn.objects.count() == 0


def test_checkin_forged_token(worker_client, station):
    token = qr.station_token(station.pk)
    forged = token[:3] + ("x" if token[3] != "x" else "y") + token[4:]
    assert_error(post_json(worker_client, "/api/v1/stations/checkins", {"token": forged}),
                 400, "qr_invalid")
    assert CheckIn.objects.count() == 0


def test_checkin_by_staff_is_refused(api, station):
    api.force_login(StaffFactory(role="station_keeper", region_code=YIJIASHAN))
    response = post_json(api, "/api/v1/stations/checkins", {"token": qr.station_token(station.pk)})
    assert_error(response, 403, "workers_only")


def test_checkin_at_inactive_station(worker_client, root, station):
    services.station_update(user=root, station_id=station.pk,
                            data=station_data(is_active=False))
    response = post_json(worker_client, "/api/v1/stations/checkins",
                         {"token": qr.station_token(station.pk)})
    assert_error(response, 404, "station_not_found")


@pytest.mark.parametrize("payload", [{}, {"token": ""}, {"token": 123}, {"token": None},
                                     {"token": "x" * 501}, [], "token"])
def test_checkin_bad_body(worker_client, payload):
    assert_error(post_json(worker_client, "/api/v1/stations/checkins", payload),
                 400, "invalid_input")


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe"])
def test_checkin_malformed_json(worker_client, raw):
    response = worker_client.post("/api/v1/stations/checkins", data=raw,
                                  content_type="application/json")
    assert 400 <= response.status_code < 500
    assert_error(response, response.status_code, response.json()["code"])


def test_checkin_without_csrf_token_is_refused_as_json(station):
    client = Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")
    client.force_login(WorkerFactory(home_region_code=None))
    response = post_json(client, "/api/v1/stations/checkins",
                         {"token": qr.station_token(station.pk)})
    assert_error(response, 403, "csrf_failed")
    assert CheckIn.objects.count() == 0


# --- health, OpenAPI, unknown paths, error shape -------------------------------------------


def test_healthz(api):
    from django.db import connection

    response = api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": connection.vendor}
    assert connection.vendor in {"sqlite", "postgresql"}


def test_openapi_lists_the_endpoints(api):
    response = api.get("/api/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path, method in [
        ("/api/v1/regions/{code}", "get"),
        ("/api/v1/regions/locate", "get"),
        ("/api/v1/stations/nearby", "get"),
        ("/api/v1/stations/{station_id}", "get"),
        ("/api/v1/stations.geojson", "get"),
        ("/api/v1/stations/checkins", "post"),
    ]:
        assert method in paths.get(path, {}), (path, sorted(paths))
    crs = {p["name"]: p for p in paths["/api/v1/regions/locate"]["get"]["parameters"]}["crs"]
    assert crs["required"] is False


def test_interactive_docs(api):
    assert api.get("/api/docs").status_code == 200


@pytest.mark.parametrize("path", ["/api/nothing", "/api/v1/nothing", "/api/v2/stations/1",
                                  "/api/v1/stations/1/extra", "/api/v1/regions/330000/x"])
def test_unknown_api_path_is_json_404(api, path):
    assert_error(api.get(path), 404, "not_found")


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/v1/stations/checkins"),
    ("post", "/api/v1/stations/1"),
    ("delete", "/api/v1/regions/330000"),
    ("put", "/api/v1/stations.geojson"),
])
def test_wrong_method_is_json_405(api, method, path):
    response = getattr(api, method)(path)
    body = assert_error(response, 405, "method_not_allowed")
    assert body["message"]
    assert response["Allow"]


def test_error_messages_follow_the_language(api):
    zh = api.get("/api/v1/regions/999999").json()
    en = api.get("/api/v1/regions/999999", HTTP_ACCEPT_LANGUAGE="en").json()
    assert zh["code"] == en["code"] == "region_not_found"
    assert zh["message_en"] == en["message_en"]


def test_an_unexpected_error_is_a_json_500_without_details(api, station):
    with mock.patch("nuanxin.stations.selectors.schedule_of",
                    side_effect=RuntimeError("secret internal detail")):
        response = api.get(f"/api/v1/stations/{station.pk}")
    body = assert_error(response, 500, "server_error")
    assert "secret internal detail" not in response.content.decode()
    assert set(body) == {"code", "message", "message_en"}

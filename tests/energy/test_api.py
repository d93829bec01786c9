"""The swap API: what a rider's app sends and gets back, errors always `{code, message}`."""

from __future__ import annotations

import json

import pytest

from nuanxin.energy import qr
from nuanxin.energy.models import Battery, Cabinet, PlanKind, Slot, Swap
from nuanxin.energy.services import custody, swaps
from nuanxin.geo.datum import CRS, from_wgs84, to_wgs84
from tests.energy.test_swaps import ledger_holds  # noqa: F401 - autouse: the ledger holds
from tests.factories import energy as f
from tests.factories.people import WorkerFactory

pytestmark = pytest.mark.django_db


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["message"]
    return body


def post(api, url, body=None):
    return api.post(url, data=json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def cab():
    return f.cabinet(full=3, charging=2, lat=29.3071, lng=120.0752)


@pytest.fixture
def rider(cab):
    return f.subscribed_rider(op=cab.operator)


@pytest.fixture
def logged_in(api, rider):
    api.force_login(rider)
    return api


# --- nearby ----------------------------------------------------------------------------------

def test_nearby_lists_cabinets_nearest_first_with_what_one_could_take(api, cab):
    far = f.cabinet(full=1, charging=0, lat=29.3171, lng=120.0752)
    f.cabinet(lat=30.5, lng=120.0)  # well outside the radius
    body = api.get("/api/v1/cabinets/nearby?lat=29.3071&lng=120.0752&radius_m=5000").json()
    assert [c["serial"] for c in body["results"]] == [cab.serial, far.serial]
    first = body["results"][0]
    assert first["available"] == 3  # the charging ones are not offered
    assert first["empty_slots"] == 7 and first["distance_m"] == 0 and first["online"]
    assert 1100 <= body["results"][1]["distance_m"] <= 1120


def test_nearby_counts_only_what_a_rider_could_take_now(api, cab, rider):
    first = Battery.objects.filter(slot__cabinet=cab, status="full").order_by("slot__number")[0]
    Slot.objects.filter(pk=first.slot_id).update(locked=True)
    swaps.swap_reserve(rider=rider, cabinet_id=cab.pk)  # holds one more
    body = api.get("/api/v1/cabinets/nearby?lat=29.3071&lng=120.0752").json()
    assert body["results"][0]["available"] == 1
    Cabinet.objects.filter(pk=cab.pk).update(online=False)
    body = api.get("/api/v1/cabinets/nearby?lat=29.3071&lng=120.0752").json()
    assert body["results"][0]["available"] == 0 and body["results"][0]["online"] is False


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_nearby_takes_and_gives_the_requested_datum(api, cab, crs):
    lat, lng = from_wgs84(cab.lat, cab.lng, CRS(crs))
    body = api.get(f"/api/v1/cabinets/nearby?lat={lat}&lng={lng}&crs={crs}").json()
    hit = body["results"][0]
    assert hit["serial"] == cab.serial and hit["distance_m"] <= 1
    back = to_wgs84(hit["lat"], hit["lng"], CRS(crs))
    assert abs(back[0] - cab.lat) < 1e-5 and abs(back[1] - cab.lng) < 1e-5


@pytest.mark.parametrize("query", [
    "lat=91&lng=120", "lat=29&lng=181", "lat=29&lng=120&crs=epsg3857", "lat=29",
    "lat=29&lng=120&limit=0", "lat=29&lng=120&radius_m=999999", "lat=x&lng=120",
])
def test_nearby_refuses_bad_input(api, query):
    assert_error(api.get(f"/api/v1/cabinets/nearby?{query}"), 400, "invalid_input")


def test_nearby_refuses_an_unknown_model(api):
    assert_error(api.get("/api/v1/cabinets/nearby?lat=29&lng=120&model=NOPE"), 400,
                 "unknown_model")


def test_a_cabinet_by_serial(api, cab):
    body = api.get(f"/api/v1/cabinets/{cab.serial}").json()
    assert body["available"] == 3 and body["slot_count"] == 12 and body["hotline"]
    assert_error(api.get("/api/v1/cabinets/NOPE-0000"), 404, "cabinet_not_found")


# --- swaps -----------------------------------------------------------------------------------

def test_starting_a_swap_needs_a_login(api, cab):
    assert_error(post(api, "/api/v1/swaps", {"cabinet_id": cab.pk}), 401, "not_authenticated")


def test_a_swap_from_a_scanned_code_and_its_retry(logged_in, cab, rider):
    body = {"cabinet_token": qr.cabinet_token(cab.pk), "request_key": "r-1"}
    first = post(logged_in, "/api/v1/swaps", body)
    assert first.status_code == 201, first.content
    swap = first.json()
    assert swap["state"] == "opening_return" and swap["open"]
    assert [s["status"] for s in swap["steps"]] == ["current", "todo", "todo", "todo"]
    assert swap["message"] and swap["label"]
    again = post(logged_in, "/api/v1/swaps", body)
    assert again.status_code == 200 and again.json()["id"] == swap["id"]
    assert Swap.objects.filter(rider=rider).count() == 1
    got = logged_in.get(f"/api/v1/swaps/{swap['id']}").json()
    assert got["id"] == swap["id"] and got["return_slot"] == swap["return_slot"]


def test_a_swap_refusal_is_a_coded_error(logged_in, cab):
    Cabinet.objects.filter(pk=cab.pk).update(online=False)
    assert_error(post(logged_in, "/api/v1/swaps", {"cabinet_id": cab.pk}), 409,
                 "cabinet_offline")
    assert_error(post(logged_in, "/api/v1/swaps", {"cabinet_token": "forged"}), 400,
                 "qr_invalid")
    assert_error(post(logged_in, "/api/v1/swaps", {}), 400, "invalid_input")


def test_without_a_plan_the_api_says_so(api, cab):
    api.force_login(WorkerFactory())
    assert_error(post(api, "/api/v1/swaps", {"cabinet_id": cab.pk}), 403, "no_plan")


def test_someone_elses_swap_is_not_found(api, cab, rider):
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    api.force_login(f.subscribed_rider(op=cab.operator))
    assert_error(api.get(f"/api/v1/swaps/{swap.pk}"), 404, "swap_not_found")
    assert_error(post(api, f"/api/v1/swaps/{swap.pk}/cancel"), 404, "swap_not_found")
    assert Swap.objects.get(pk=swap.pk).state == "opening_return"


def test_cancel_through_the_api(logged_in, cab):
    swap = post(logged_in, "/api/v1/swaps", {"cabinet_id": cab.pk}).json()
    body = post(logged_in, f"/api/v1/swaps/{swap['id']}/cancel").json()
    assert body["state"] == "cancelled" and not body["open"]
    again = post(logged_in, f"/api/v1/swaps/{swap['id']}/cancel")
    assert_error(again, 409, "invalid_transition")
    body = again.json()
    assert (body["state"], body["action"], body["allowed"]) == ("cancelled", "cancel", [])


def test_a_reservation_through_the_api(logged_in, cab):
    first = post(logged_in, "/api/v1/reservations", {"cabinet_id": cab.pk, "request_key": "x"})
    assert first.status_code == 201
    assert first.json()["state"] == "reserved"
    again = post(logged_in, "/api/v1/reservations", {"cabinet_id": cab.pk, "request_key": "x"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert_error(post(logged_in, "/api/v1/reservations", {"cabinet_id": cab.pk}), 409,
                 "swap_open")


def test_energy_me_shows_plan_battery_and_open_swap(logged_in, cab, rider):
    body = logged_in.get("/api/v1/energy/me").json()
    assert body["plan"]["kind"] == PlanKind.MONTHLY and body["plan"]["price_fen"] == 29900
    assert body["battery"]["soc_pct"] == 12.0 and body["battery"]["soh_pct"] == 100.0
    assert body["open_swap_id"] is None
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    assert logged_in.get("/api/v1/energy/me").json()["open_swap_id"] == swap.pk


def test_a_completed_swap_shows_the_new_batterys_charge_and_health(logged_in, cab, rider):
    from django.utils import timezone

    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    old = Battery.objects.get(holder=rider)
    for slot, event, serial in [(swap.return_slot.number, "opened", None),
                                (swap.return_slot.number, "closed", old.serial),
                                (swap.release_slot.number, "opened", None),
                                (swap.release_slot.number, "closed", None)]:
        swaps.swap_on_door_event(cabinet=cab, slot_number=slot, event=event,
                                 battery_serial=serial, unread=False, at=timezone.now(), seq=None,
                                 cmd=f.door_cmd(cab, slot))
    body = logged_in.get(f"/api/v1/swaps/{swap.pk}").json()
    assert body["state"] == "completed" and body["label"]
    assert body["battery_released"]["soc_pct"] == 100.0
    assert body["battery_released"]["soh_pct"] == 100.0
    assert body["charged_fen"] == 0  # monthly plan
    me = logged_in.get("/api/v1/energy/me").json()
    assert me["battery"]["serial"] == body["battery_released"]["serial"]
    assert custody.ledger_verify() == []


def test_a_boolean_is_not_a_cabinet_id(logged_in, cab):
    for url in ("/api/v1/swaps", "/api/v1/reservations"):
        response = post(logged_in, url, {"cabinet_id": True})
        assert response.status_code == 400 and response.json()["code"]
    assert not Swap.objects.exists()


def test_a_serial_longer_than_any_is_not_found_by_its_prefix(api):
    cab = f.cabinet(serial="CAB-" + "X" * 28)
    assert api.get(f"/api/v1/cabinets/{cab.serial}").status_code == 200
    assert_error(api.get(f"/api/v1/cabinets/{cab.serial}EXTRA"), 404, "cabinet_not_found")

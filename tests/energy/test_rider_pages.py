"""The rider's pages, as a rider's phone gets them: the facts on each page, the scan that
starts a swap (once, however often the button is tapped), refusals in plain words, and
nobody else's swap."""

import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from nuanxin.energy.models import Battery, Subscription, Swap, SwapState
from nuanxin.energy.qr import cabinet_token
from nuanxin.energy.services import swaps
from nuanxin.geo.datum import CRS, from_wgs84
from tests.factories import energy as f
from tests.factories.people import WorkerFactory
from tests.factories.places import YIWU

pytestmark = pytest.mark.django_db

HERE = (29.3155, 120.0782)  # 义驾山


@pytest.fixture
def world():
    op = f.operator()
    near = f.cabinet(op=op, name="义驾山换电柜", address="稠城街道义驾山社区北门",
                     lat=HERE[0] + 0.001, lng=HERE[1], full=6, charging=2)
    far = f.cabinet(op=op, name="宾王换电柜", lat=HERE[0] + 0.01, lng=HERE[1], full=3,
                    charging=0, online=False)
    rider = f.subscribed_rider(op=op)
    return {"op": op, "near": near, "far": far, "rider": rider}


@pytest.fixture
def rider_client(client, world):
    client.force_login(world["rider"])
    return client


def _request_key(html: str) -> str:
    return re.search(r'name="request_key" value="([0-9a-f]+)"', html).group(1)


def _text(response) -> str:
    return response.content.decode()


# --- cabinets near me -------------------------------------------------------------------

def test_nearby_lists_cabinets_nearest_first_with_what_the_rider_can_take(rider_client,
                                                                           world):
    response = rider_client.get("/energy/", {"lat": HERE[0], "lng": HERE[1]})
    assert response.status_code == 200
    html = _text(response)
    rows = re.findall(r'<li><a href="(/energy/cabinets/[^/]+/)"', html)
    assert rows == [f"/energy/cabinets/{world['near'].serial}/",
                    f"/energy/cabinets/{world['far'].serial}/"]
    near_row = html[html.index("义驾山换电柜") - 400:html.index("宾王换电柜")]
    assert "<b>6</b>" in near_row  # six full batteries; the two charging ones are not offered
    assert "在线" in near_row and "111 米" in near_row
    far_row = html[html.index("宾王换电柜"):]
    assert "离线" in far_row
    data = json.loads(re.search(r'<script id="map-data" type="application/json">(.*?)</script>',
                                html).group(1))
    near_marker = data["markers"][0]
    assert near_marker["available"] == 6 and near_marker["online"] is True
    # Chinese tiles draw in GCJ-02: the marker is shifted from the stored WGS-84 point.
    assert (near_marker["lat"], near_marker["lng"]) == from_wgs84(
        HERE[0] + 0.001, HERE[1], CRS.GCJ02)


def test_nearby_shows_the_riders_reserved_battery_until_when(rider_client, world):
    from django.utils.timezone import localtime

    reservation = swaps.swap_reserve(rider=world["rider"], cabinet_id=world["near"].pk)
    html = _text(rider_client.get("/energy/", {"lat": HERE[0], "lng": HERE[1]}))
    assert 'id="open-swap"' in html  # and the notice above the list links to it
    results = html[html.index('id="results"'):html.index('id="map-data"')]
    near_row, far_row = results[:results.index("宾王换电柜")], results[results.index("宾王换电柜"):]
    until = localtime(reservation.deadline).strftime("%H:%M")
    assert f"已为您预约 1 块 · {until} 前有效" in near_row
    assert "<b>5</b>" in near_row  # the held one is no longer counted as available
    assert "空仓 3" in near_row  # nor the empty slot held for the rider's flat battery
    assert "预约" not in far_row
    # Nobody else sees it as theirs.
    other = f.subscribed_rider(op=world["op"])
    rider_client.force_login(other)
    html = _text(rider_client.get("/energy/", {"lat": HERE[0], "lng": HERE[1]}))
    assert "已为您预约" not in html


def test_a_stations_cabinet_amenity_links_to_its_cabinets(client, world):
    from nuanxin.stations.amenities import AMENITIES
    from tests.factories.places import StationFactory

    assert "battery_swap" in AMENITIES
    station = StationFactory(name="义驾山驿站", lat=HERE[0] + 0.001, lng=HERE[1],
                             amenities=["battery_swap", "hot_water"])
    world["near"].station = station
    world["near"].save(update_fields=["station"])
    page = _text(client.get(f"/stations/{station.pk}/"))
    link = re.search(r'<a href="([^"]+)" id="amenity-cabinets">', page).group(1)
    assert link == f"/energy/?station={station.pk}"
    html = _text(client.get(link))
    assert "「义驾山驿站」的换电柜和附近的柜子" in html
    rows = re.findall(r'<li><a href="(/energy/cabinets/[^/]+/)"', html)
    assert rows[0] == f"/energy/cabinets/{world['near'].serial}/"
    # A station id that is no station: the page asks for a place, as without one.
    assert client.get("/energy/", {"station": "99999999"}).status_code == 200


def test_nearby_counts_only_the_riders_battery_model(client, world):
    other_model = f.battery_model("60V30AH-NMC")
    stranger = f.subscribed_rider(op=world["op"], model=other_model)
    client.force_login(stranger)
    html = _text(client.get("/energy/", {"lat": HERE[0], "lng": HERE[1]}))
    near_row = html[html.index("义驾山换电柜") - 400:html.index("宾王换电柜")]
    assert "<b>0</b>" in near_row


def test_nearby_without_location_offers_districts_and_works_from_one(client, world):
    html = _text(client.get("/energy/"))
    assert "用我的位置查找" in html and 'name="district"' in html
    response = client.get("/energy/", {"district": YIWU})  # 义乌市
    assert response.status_code == 200
    assert "义驾山换电柜" in _text(response)


def test_worker_home_links_to_the_cabinets(client):
    assert 'href="/energy/"' in _text(client.get("/"))


# --- a cabinet -------------------------------------------------------------------------

def test_cabinet_page_shows_address_count_and_navigation(rider_client, world):
    cab = world["near"]
    html = _text(rider_client.get(f"/energy/cabinets/{cab.serial}/"))
    assert "稠城街道义驾山社区北门" in html
    assert re.search(r'id="available"><b>6</b>', html)
    gcj_lat, gcj_lng = from_wgs84(cab.lat, cab.lng, CRS.GCJ02)
    assert f"uri.amap.com/marker?position={gcj_lng}%2C{gcj_lat}" in html
    assert "预约 10 分钟" in html


def test_unknown_cabinet_is_a_404(rider_client):
    assert rider_client.get("/energy/cabinets/NO-SUCH-CAB/").status_code == 404


def test_reserving_holds_a_battery_and_shows_the_reservation(rider_client, world):
    cab = world["near"]
    html = _text(rider_client.get(f"/energy/cabinets/{cab.serial}/"))
    response = rider_client.post(f"/energy/cabinets/{cab.serial}/reserve/",
                                 {"request_key": _request_key(html)})
    swap = Swap.objects.get(rider=world["rider"])
    assert response.status_code == 302 and response["Location"] == f"/energy/swaps/{swap.pk}/"
    assert swap.state == SwapState.RESERVED and swap.battery_released is not None
    page = _text(rider_client.get(response["Location"]))
    assert "已为您保留一块满电电池" in page
    assert 'id="navigate"' in page  # the rider is on the way
    assert "取消预约" in page
    # The held battery is no longer offered to anyone else.
    assert re.search(r'id="available"><b>5</b>',
                     _text(rider_client.get(f"/energy/cabinets/{cab.serial}/")))


def test_reserving_needs_a_login(client, world):
    response = client.post(f"/energy/cabinets/{world['near'].serial}/reserve/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Swap.objects.exists()


# --- the QR scan -----------------------------------------------------------------------

def test_scan_asks_for_a_login_and_comes_back(client, world):
    path = f"/energy/c/{cabinet_token(world['near'].pk)}/"
    response = client.get(path)
    assert response.status_code == 302
    where = urlsplit(response["Location"])
    assert where.path == "/accounts/login/"
    assert parse_qs(where.query)["next"] == [path]


def test_scan_shows_the_cabinet_and_one_big_button(rider_client, world):
    html = _text(rider_client.get(f"/energy/c/{cabinet_token(world['near'].pk)}/"))
    assert "义驾山换电柜" in html
    assert re.search(r'<button type="submit" class="block start" id="start"[^>]*>开始换电',
                     html)
    assert 'name="csrfmiddlewaretoken"' in html


def test_a_forged_code_gets_a_friendly_page(rider_client, world):
    forged = cabinet_token(world["near"].pk)[:-2] + "xx"
    response = rider_client.get(f"/energy/c/{forged}/")
    assert 400 <= response.status_code < 500
    html = _text(response)
    assert "没能识别这个换电柜" in html and 'id="refusal"' in html
    assert "开始换电" not in html
    assert not Swap.objects.exists()


def test_tapping_start_twice_starts_one_swap(rider_client, world):
    path = f"/energy/c/{cabinet_token(world['near'].pk)}/"
    key = _request_key(_text(rider_client.get(path)))
    first = rider_client.post(path, {"request_key": key})
    second = rider_client.post(path, {"request_key": key})
    swap = Swap.objects.get(rider=world["rider"])
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/energy/swaps/{swap.pk}/"
    assert swap.state == SwapState.OPENING_RETURN


def test_a_reservation_here_becomes_the_swap_and_one_elsewhere_is_pointed_to(rider_client,
                                                                            world):
    near, far = world["near"], world["far"]
    html = _text(rider_client.get(f"/energy/cabinets/{near.serial}/"))
    rider_client.post(f"/energy/cabinets/{near.serial}/reserve/",
                      {"request_key": _request_key(html)})
    reservation = Swap.objects.get(rider=world["rider"])

    path = f"/energy/c/{cabinet_token(near.pk)}/"
    page = _text(rider_client.get(path))
    assert "您预约的电池就在这个柜子里" in page and 'id="start"' in page
    response = rider_client.post(path, {"request_key": _request_key(page)})
    assert response["Location"] == f"/energy/swaps/{reservation.pk}/"
    reservation.refresh_from_db()
    assert reservation.state == SwapState.OPENING_RETURN

    # With that swap under way, another cabinet's code points back to it.
    type(far).objects.filter(pk=far.pk).update(online=True)
    other = f"/energy/c/{cabinet_token(far.pk)}/"
    page = _text(rider_client.get(other))
    assert 'id="start"' not in page
    assert f'href="/energy/swaps/{reservation.pk}/"' in page


def test_scan_refusals_explain_themselves(client, world):
    no_plan = WorkerFactory()
    client.force_login(no_plan)
    path = f"/energy/c/{cabinet_token(world['near'].pk)}/"
    response = client.post(path, {"request_key": _request_key(_text(client.get(path)))})
    assert response.status_code in (403, 409)
    html = _text(response)
    assert 'data-code="no_plan"' in html and "套餐" in html
    assert not Swap.objects.exists()

    client.force_login(world["rider"])
    offline = f"/energy/c/{cabinet_token(world['far'].pk)}/"
    response = client.post(offline, {"request_key": _request_key(_text(client.get(offline)))})
    assert 400 <= response.status_code < 500
    html = _text(response)
    assert "离线" in html or "连不上" in html
    assert "找附近别的换电柜" in html
    assert not Swap.objects.exists()


def _no_battery(world):
    return world["rider"], f.cabinet(op=world["op"], full=0, charging=3)


def _other_model(world):
    return f.subscribed_rider(op=world["op"], model=f.battery_model("60V30AH-NMC")), \
        world["near"]


def _safety_locked(world):
    type(world["near"]).objects.filter(pk=world["near"].pk).update(safety_locked=True)
    return world["rider"], world["near"]


def _plan_expired(world):
    Subscription.objects.filter(rider=world["rider"]).update(
        paid_until=timezone.now() - timedelta(days=1))
    return world["rider"], world["near"]


def _other_operator(world):
    return f.subscribed_rider(op=f.operator()), world["near"]


@pytest.mark.parametrize(("setup", "code", "words"), [
    (_no_battery, "no_battery", "没有可换的满电电池"),
    (_other_model, "model_not_offered", "型号"),
    (_safety_locked, "cabinet_safety_locked", "安全"),
    (_plan_expired, "plan_expired", "续费"),
    (_other_operator, "plan_not_valid_here", "运营商"),
])
def test_each_refusal_is_told_with_what_to_do(client, world, setup, code, words):
    rider, cab = setup(world)
    client.force_login(rider)
    path = f"/energy/c/{cabinet_token(cab.pk)}/"
    response = client.post(path, {"request_key": _request_key(_text(client.get(path)))})
    assert 400 <= response.status_code < 500
    html = _text(response)
    refusal = html[html.index('id="refusal"'):]
    assert f'data-code="{code}"' in html and words in refusal
    assert re.search(r"<p>[^<]+</p>", refusal)  # and what to do about it
    assert not Swap.objects.filter(rider=rider).exists()


# --- the swap's progress --------------------------------------------------------------

def _start(client, cab) -> Swap:
    path = f"/energy/c/{cabinet_token(cab.pk)}/"
    client.post(path, {"request_key": _request_key(_text(client.get(path)))})
    return Swap.objects.latest("pk")


def _door(cab, slot, event, seq, battery=""):
    return swaps.swap_on_door_event(cabinet=cab, slot_number=slot.number, event=event,
                                    battery_serial=battery or None, unread=False,
                                    at=timezone.now(), seq=seq,
                                    cmd=f.door_cmd(cab, slot.number))


def _run_to_completion(swap: Swap) -> Swap:
    """The cabinet's side of a swap: ack, doors open and close as a rider's hands would."""
    cab = swap.cabinet
    held = Battery.objects.get(holder=swap.rider)
    swap.refresh_from_db()
    for command in swap.commands.filter(acked_at__isnull=True):
        swaps.swap_on_command_ack(command=command, ok=True, error="", at=timezone.now())
    assert _door(cab, swap.return_slot, "opened", 1000)
    assert _door(cab, swap.return_slot, "closed", 1001, held.serial)
    swap.refresh_from_db()
    for command in swap.commands.filter(acked_at__isnull=True):
        swaps.swap_on_command_ack(command=command, ok=True, error="", at=timezone.now())
    assert _door(cab, swap.release_slot, "opened", 1002)
    assert _door(cab, swap.release_slot, "closed", 1003)
    swap.refresh_from_db()
    return swap


def test_progress_page_shows_the_steps_and_the_door_number(rider_client, world):
    swap = _start(rider_client, world["near"])
    html = _text(rider_client.get(f"/energy/swaps/{swap.pk}/"))
    steps = re.findall(r'<li class="(\w+)" data-code="\w+">.*?</span>(.*?)</li>', html)
    assert steps == [("current", "正在打开空仓门…"), ("todo", "放入旧电池并关门"),
                     ("todo", "满电仓门已打开"), ("todo", "取出新电池并关门"), ("todo", "完成")]
    assert re.search(rf'id="door-number">{swap.return_slot.number}</b>', html)
    # Polling is on while the swap runs, and there is a way out before the battery is in.
    assert f'hx-get="/energy/swaps/{swap.pk}/status/?v=' in html
    assert 'hx-trigger="every 1s"' in html
    assert "取消换电" in html


def test_the_poll_is_empty_while_nothing_changed_and_stops_when_done(rider_client, world):
    swap = _start(rider_client, world["near"])
    fragment = _text(rider_client.get(f"/energy/swaps/{swap.pk}/status/"))
    version = re.search(r"status/\?v=([0-9a-f]+)", fragment).group(1)
    same = rider_client.get(f"/energy/swaps/{swap.pk}/status/", {"v": version})
    assert same.status_code == 204 and same.content == b""

    swap = _run_to_completion(swap)
    assert swap.state == SwapState.COMPLETED
    released = swap.battery_released
    done = rider_client.get(f"/energy/swaps/{swap.pk}/status/", {"v": version})
    assert done.status_code == 200
    html = _text(done)
    assert "hx-trigger" not in html  # polling stops
    assert re.search(rf'id="new-soc"><b>{released.soc_pct:.0f}%</b>', html)
    assert re.search(rf'id="new-soh"><b>{released.soh_pct:.0f}%</b>', html)
    assert "取消" not in html


def test_a_failed_swap_says_what_happens_next(rider_client, world):
    swap = _start(rider_client, world["near"])
    # The cabinet never answers: every door it is asked to open "jams" by timeout, until the
    # swap gives up.
    later = timezone.now()
    for _ in range(20):
        later += timedelta(minutes=1)
        swaps.swaps_expire_overdue(now=later)
        swap.refresh_from_db()
        if not swap.is_open:
            break
    assert swap.state == SwapState.FAILED and swap.failure_code == "door_jam"
    html = _text(rider_client.get(f"/energy/swaps/{swap.pk}/"))
    assert 'id="failure"' in html
    assert "不收费" in html and "运营商已收到通知" in html
    assert world["op"].hotline in html
    assert "hx-trigger" not in html and "取消换电" not in html
    assert 'id="steps"' not in html  # no step list stuck half-way


def test_the_rider_can_cancel_before_the_old_battery_is_in(rider_client, world):
    swap = _start(rider_client, world["near"])
    response = rider_client.post(f"/energy/swaps/{swap.pk}/cancel/")
    assert response.status_code == 302
    swap.refresh_from_db()
    assert swap.state == SwapState.CANCELLED
    assert "已取消" in _text(rider_client.get(response["Location"]))


def test_another_riders_swap_is_not_found(client, world):
    client.force_login(world["rider"])
    swap = _start(client, world["near"])
    other = f.subscribed_rider(op=world["op"])
    client.force_login(other)
    for path in (f"/energy/swaps/{swap.pk}/", f"/energy/swaps/{swap.pk}/status/"):
        assert client.get(path).status_code == 404
    assert client.post(f"/energy/swaps/{swap.pk}/cancel/").status_code == 404
    swap.refresh_from_db()
    assert swap.state == SwapState.OPENING_RETURN


def test_rider_pages_need_a_login(client, world):
    for path in ("/energy/me/", "/energy/swaps/1/", "/energy/swaps/1/status/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/accounts/login/?next=")
    # A poll whose session ended sends the whole page to the login (and back to the swap).
    poll = client.get("/energy/swaps/1/status/", HTTP_HX_REQUEST="true",
                      HTTP_HX_CURRENT_URL="http://testserver/energy/swaps/1/")
    assert poll.status_code == 200 and poll.content == b""
    assert poll["HX-Redirect"] == "/accounts/login/?next=/energy/swaps/1/"


# --- me -------------------------------------------------------------------------------

def test_me_shows_plan_battery_and_recent_swaps(rider_client, world):
    swap = _run_to_completion(_start(rider_client, world["near"]))
    html = _text(rider_client.get("/energy/me/"))
    assert "包月不限次换电" in html
    new = Battery.objects.get(holder=world["rider"])
    assert new.pk == swap.battery_released_id
    assert re.search(rf'id="my-soc"><b>{new.soc_pct:.0f}%</b>', html)
    assert re.search(rf'id="my-soh"><b>{new.soh_pct:.0f}%</b>', html)
    assert 'id="health-note"' not in html
    assert f'href="/energy/swaps/{swap.pk}/"' in html and "换电完成" in html


def test_me_warns_when_the_battery_in_hand_is_worn(client, world):
    op = world["op"]
    rider = f.subscribed_rider(op=op, holding=False)
    f.battery(op=op, holder=rider, soc=63.0, soh=74.0)
    client.force_login(rider)
    html = _text(client.get("/energy/me/"))
    assert re.search(r'id="my-soh"><b>74%</b>', html)
    assert 'id="health-note"' in html and "低于 80%" in html


def test_me_without_a_plan_says_so(client, world):
    client.force_login(WorkerFactory())
    html = _text(client.get("/energy/me/"))
    assert 'id="no-plan"' in html and 'id="no-battery"' in html



# --- my data ----------------------------------------------------------------------------


def test_my_data_export_has_my_plan_swaps_and_battery_and_nobody_elses(rider_client, world):
    rider = world["rider"]
    mine = swaps.swap_start(rider=rider, cabinet_id=world["near"].pk, request_key="k1")
    other = f.subscribed_rider(op=world["op"])
    theirs = swaps.swap_start(rider=other, cabinet_id=world["near"].pk, request_key="k2")
    held = Battery.objects.get(holder=rider)

    response = rider_client.get("/accounts/me/data.json")
    assert response.status_code == 200
    energy = json.loads(response.content)["energy"]
    assert [s["id"] for s in energy["swaps"]] == [mine.pk]
    assert energy["swaps"][0]["cabinet"] == world["near"].serial
    assert energy["swaps"][0]["battery_returned"] == held.serial
    assert theirs.pk not in [s["id"] for s in energy["swaps"]]
    assert energy["battery_in_hand"]["serial"] == held.serial
    assert [p["status"] for p in energy["plans"]] == ["active"]

"""The energy console as its two kinds of users see it: an operator's member and station
staff. Pages render, show the right cabinets and numbers, forms work, lists keep to a query
budget, riders' phone numbers stay masked."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import segno  # noqa: F401  (the QR images are drawn with it)
from django.urls import reverse
from django.utils import timezone

from nuanxin.energy.models import (
    Alarm,
    AlarmState,
    Battery,
    BatteryHealthSample,
    BatteryStatus,
    Slot,
    Subscription,
    Swap,
    SwapState,
    WorkOrder,
)
from nuanxin.energy.qr import cabinet_id_from_token
from nuanxin.energy.selectors import console as selectors
from nuanxin.energy.services import custody, safety
from tests.factories import energy as f
from tests.factories.people import StaffFactory, SuperuserFactory, browser_login, login
from tests.factories.places import YIJIASHAN, YIWU, StationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def op():
    return f.operator(name="铁塔换电义乌")


@pytest.fixture
def cab(op):
    station = StationFactory(region_code=YIJIASHAN)
    return f.cabinet(op=op, station=station, name="义驾山1号柜", group="义驾山组",
                     full=5, charging=3)


@pytest.fixture
def member_client(client, op):
    client.force_login(f.operator_user(op))
    return client


@pytest.fixture
def staff_client(client):
    return login(client, StaffFactory(region_code=YIJIASHAN))


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def completed_swap(cab, rider, *, when=None) -> Swap:
    sub = Subscription.objects.get(rider=rider)
    when = when or timezone.now()
    swap = Swap.objects.create(rider=rider, cabinet=cab, subscription=sub,
                               state=SwapState.COMPLETED)
    Swap.objects.filter(pk=swap.pk).update(created_at=when, finished_at=when)
    return swap


@pytest.mark.parametrize("who", ["member", "staff"])
def test_overview_shows_the_cabinet_with_live_counts(request, cab, who):
    client = request.getfixturevalue(f"{who}_client")
    safety.alarm_raise(cabinet=cab, kind="door_jam", at=timezone.now(), slot=1)
    response = client.get(reverse("energy_console:overview"))
    assert response.status_code == 200
    page = text(response)
    assert "义驾山1号柜" in page and cab.serial in page
    # Slot 1's full battery sits behind a locked door: 4 to take, 3 charging, 4 empty.
    assert "可换 4" in page and "充电 3" in page and "空仓 4" in page and "锁定 1" in page
    assert "energy-map-data" in page and "leaflet" in page
    refreshed = client.get(reverse("energy_console:overview"), HTTP_HX_REQUEST="true")
    assert refreshed.status_code == 200 and "<html" not in refreshed.content.decode()
    assert 'hx-trigger="every 10s"' in refreshed.content.decode()


def test_the_slot_grid_says_each_state_in_words(member_client, cab):
    safety.alarm_raise(cabinet=cab, kind="over_temperature", at=timezone.now(), slot=2,
                       value=66.0)
    Slot.objects.filter(cabinet=cab, number=12).update(enabled=False)
    response = member_client.get(reverse("energy_console:cabinet", args=[cab.pk]))
    assert response.status_code == 200
    states = dict(re.findall(r'data-slot="(\d+)" data-state="(\w+)"', response.content.decode()))
    assert states["1"] == "full" and states["2"] == "locked" and states["6"] == "charging"
    assert states["9"] == "empty" and states["12"] == "fault"
    page = text(response)
    for word in ("满电", "充电中", "空仓", "已锁定", "故障", "温度过高", "已隔离"):
        assert word in page


def test_unlock_forms_refuse_then_work(member_client, cab, op):
    alarm = safety.alarm_raise(cabinet=cab, kind="door_jam", at=timezone.now(), slot=3)
    slot = Slot.objects.get(cabinet=cab, number=3)
    url = reverse("energy_console:slot_unlock", args=[cab.pk, slot.pk])
    refused = member_client.post(url, follow=True)
    assert "未解决的告警" in text(refused)
    slot.refresh_from_db()
    assert slot.locked
    member_client.post(reverse("energy_console:alarm_acknowledge", args=[alarm.pk]))
    member_client.post(reverse("energy_console:alarm_resolve", args=[alarm.pk]),
                       {"note": "门轴已润滑"})
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.RESOLVED and alarm.resolution_note == "门轴已润滑"
    done = member_client.post(url, follow=True)
    assert "已解锁" in text(done)
    slot.refresh_from_db()
    assert not slot.locked


def test_alarms_list_open_first_with_ack_and_resolve_forms(staff_client, cab):
    old = safety.alarm_raise(cabinet=cab, kind="door_jam",
                             at=timezone.now() - timedelta(hours=2), slot=4)
    Alarm.objects.filter(pk=old.pk).update(state=AlarmState.RESOLVED,
                                           resolved_at=timezone.now(), resolution_note="ok")
    new = safety.alarm_raise(cabinet=cab, kind="over_temperature",
                             at=timezone.now() - timedelta(hours=3), slot=5, value=70)
    response = staff_client.get(reverse("energy_console:alarms") + "?state=")
    ids = [int(i) for i in re.findall(r'data-alarm="(\d+)"', response.content.decode())]
    assert ids == [new.pk, old.pk]  # unresolved first even though older
    assert reverse("energy_console:alarm_resolve", args=[new.pk]) in response.content.decode()
    staff_client.post(reverse("energy_console:alarm_acknowledge", args=[new.pk]))
    new.refresh_from_db()
    assert new.state == AlarmState.ACKNOWLEDGED and new.acknowledged_at is not None


def test_work_orders_open_from_an_alarm_and_complete(member_client, cab):
    hot = Battery.objects.get(slot__cabinet=cab, slot__number=1)
    alarm = safety.alarm_raise(cabinet=cab, kind="over_temperature", at=timezone.now(),
                               slot=1, value=75)
    member_client.post(reverse("energy_console:work_orders"),
                       {"kind": "to_maintenance", "alarm": alarm.pk})
    order = WorkOrder.objects.get(alarm=alarm)
    listing = member_client.get(reverse("energy_console:work_orders"))
    assert f'data-work-order="{order.pk}"' in listing.content.decode()
    member_client.post(reverse("energy_console:work_order_complete", args=[order.pk]))
    hot.refresh_from_db()
    assert hot.status == BatteryStatus.MAINTENANCE
    # The finished order says where the battery came from, not where it is.
    listing = text(member_client.get(reverse("energy_console:work_orders") + "?state="))
    row = listing.split(f'data-work-order="{order.pk}"')[1].split("</tr>")[0]
    assert re.search(r"取自</span> <a [^>]*>义驾山1号柜</a> · <span [^>]*>1 号仓", row)
    # By serial, as a technician types it.
    member_client.post(reverse("energy_console:work_orders"),
                       {"kind": "retire", "battery_serial": hot.serial.lower()})
    retire = WorkOrder.objects.get(kind="retire", battery=hot)
    member_client.post(reverse("energy_console:work_order_complete", args=[retire.pk]))
    hot.refresh_from_db()
    assert hot.status == BatteryStatus.RETIRED
    assert custody.ledger_verify() == []


def test_swap_records_mask_phones_and_filter(member_client, cab, op):
    rider = f.subscribed_rider(op=op)
    rider.phone = "13812341234"
    rider.save(update_fields=["phone"])
    completed_swap(cab, rider)
    response = member_client.get(reverse("energy_console:swaps") + f"?cabinet={cab.pk}")
    page = text(response)
    assert "138****1234" in page and "13812341234" not in page
    empty = member_client.get(reverse("energy_console:swaps") + "?state=failed")
    assert "138****1234" not in text(empty)


def test_fleet_health_distribution_and_fastest_decliners(member_client, cab, op):
    now = timezone.now()
    batteries = list(Battery.objects.filter(slot__cabinet=cab).order_by("slot__number"))
    Battery.objects.filter(pk=batteries[0].pk).update(soh_pct=78)
    Battery.objects.filter(pk=batteries[1].pk).update(soh_pct=88)
    for battery, (start, end) in zip(batteries[:3], [(92, 78), (95, 88), (99, 98)], strict=True):
        BatteryHealthSample.objects.create(battery=battery, at=now - timedelta(days=80),
                                           soh_pct=start, cycle_count=100)
        BatteryHealthSample.objects.create(battery=battery, at=now - timedelta(days=1),
                                           soh_pct=end, cycle_count=300)
    health = selectors.fleet_health(f.operator_user(op))
    counts = {b["code"]: b["count"] for b in health["buckets"]}
    assert counts["lt80"] == 1 and counts["85_90"] == 1 and counts["ge95"] == 6
    assert [b.pk for b in health["fastest"]] == [batteries[0].pk, batteries[1].pk,
                                                  batteries[2].pk]
    assert health["fastest"][0].decline == pytest.approx(14)
    response = member_client.get(reverse("energy_console:health"))
    page = text(response)
    assert batteries[0].serial in page and "建议退役" in page and "echarts" in page


def test_coverage_counts_distinct_riders_per_group_per_month(member_client, cab, op):
    other = f.cabinet(op=op, name="稠城2号柜", group="稠城组", full=2, charging=0)
    riders = [f.subscribed_rider(op=op) for _ in range(3)]
    for rider in riders:
        completed_swap(cab, rider)
        completed_swap(cab, rider)  # twice in a month counts once
    completed_swap(other, riders[0])
    data = selectors.coverage(f.operator_user(op), months=3)
    month = timezone.localtime(timezone.now()).strftime("%Y-%m")
    by_group = {g["group"]: dict(zip(data["months"], g["months"], strict=True))
                for g in data["groups"]}
    assert by_group["义驾山组"][month] == 3 and by_group["稠城组"][month] == 1
    assert data["riders_total"] == 3 and data["group_count"] == 2
    page = text(member_client.get(reverse("energy_console:coverage")))
    assert "2 组换电柜覆盖骑手 3 人" in page


def test_cabinet_qr_code_opens_the_scan_page(member_client, cab):
    page = member_client.get(reverse("energy_console:cabinet_qr", args=[cab.pk]))
    assert page.status_code == 200
    url = re.search(r"<code[^>]*>([^<]+)</code>", page.content.decode()).group(1)
    token = url.rstrip("/").split("/")[-1]
    assert "/energy/c/" in url and cabinet_id_from_token(token) == cab.pk
    png = member_client.get(reverse("energy_console:cabinet_qr_png", args=[cab.pk]))
    assert png["Content-Type"] == "image/png" and png.content[:4] == b"\x89PNG"
    svg = member_client.get(reverse("energy_console:cabinet_qr_svg", args=[cab.pk]))
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content


def test_the_console_navigation_links_the_energy_console(staff_client, cab):
    page = staff_client.get(reverse("console:stations"))
    assert reverse("energy_console:overview") in page.content.decode()


@pytest.mark.parametrize("name", ["overview", "alarms", "work_orders", "swaps", "health",
                                  "coverage"])
def test_list_pages_keep_a_query_budget(member_client, op, name, django_assert_max_num_queries):
    cabinets = [f.cabinet(op=op, group=f"组{i}", full=3, charging=1) for i in range(6)]
    for cabinet in cabinets:
        safety.alarm_raise(cabinet=cabinet, kind="over_temperature", at=timezone.now(), slot=1)
        rider = f.subscribed_rider(op=op)
        completed_swap(cabinet, rider)
        BatteryHealthSample.objects.create(
            battery=Battery.objects.filter(slot__cabinet=cabinet).first(),
            at=timezone.now() - timedelta(days=30), soh_pct=99, cycle_count=1)
        BatteryHealthSample.objects.create(
            battery=Battery.objects.filter(slot__cabinet=cabinet).first(),
            at=timezone.now(), soh_pct=97, cycle_count=50)
    url = reverse(f"energy_console:{name}") + ("?state=" if name == "work_orders" else "")
    with django_assert_max_num_queries(14):
        response = member_client.get(url)
    assert response.status_code == 200


def test_the_slot_grid_keeps_a_query_budget(member_client, cab, django_assert_max_num_queries):
    for number in (1, 2, 3):
        safety.alarm_raise(cabinet=cab, kind="door_jam", at=timezone.now(), slot=number)
    with django_assert_max_num_queries(14):
        response = member_client.get(reverse("energy_console:cabinet", args=[cab.pk]))
    assert response.status_code == 200


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_slot_grid_on_a_phone(regions, new_page, live_server, tmp_path):
    """A member signs in on a 360 px phone and reads the grid: every slot visible, words on
    each, nothing wider than the screen."""
    op = f.operator(name="铁塔换电浏览器测试")
    cabinet = f.cabinet(op=op, name="浏览器测试柜", full=5, charging=3)
    safety.alarm_raise(cabinet=cabinet, kind="over_temperature", at=timezone.now(), slot=2,
                       value=67.0)
    page = browser_login(new_page(), f.operator_user(op), live_server.url)
    page.goto(reverse("energy_console:cabinet", args=[cabinet.pk]))
    slots = page.locator(".slot")
    assert slots.count() == 12
    assert page.locator('.slot[data-slot="2"] .state').inner_text() == "已锁定"
    assert page.locator('.slot[data-slot="1"] .state').inner_text() == "满电"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
    page.screenshot(path=str(tmp_path / "grid.png"), full_page=True)


def test_dashboard_figures_count_riders_served_and_safety_alarms(cab, op):
    from nuanxin.common.stats import stat

    riders = [f.subscribed_rider(op=op) for _ in range(2)]
    for rider in riders:
        completed_swap(cab, rider)
    completed_swap(cab, riders[0])
    safety.alarm_raise(cabinet=cab, kind="smoke", at=timezone.now())
    safety.alarm_raise(cabinet=cab, kind="door_jam", at=timezone.now(), slot=2)
    assert stat("energy.swaps").compute("3307", None, None) == 3
    assert stat("energy.riders_served").compute("3307", None, None) == 2
    assert stat("energy.riders_served").compute("3303", None, None) == 0  # Wenzhou
    assert stat("energy.safety_alarms").compute("", None, None) == 1
    assert stat("energy.cabinets").records(YIWU, None, None).filter(pk=cab.pk).exists()


def test_overview_counts_agree_with_the_slot_grid_for_a_locked_quarantined_slot():
    """A slot that is locked with a quarantined battery in it counts once, as locked, on the
    overview as on the cabinet's grid (it used to count as both fault and locked)."""
    from collections import Counter

    cab = f.cabinet(full=5, charging=1)
    slot = Slot.objects.get(cabinet=cab, number=1)
    Slot.objects.filter(pk=slot.pk).update(locked=True)
    custody.battery_move(battery=Battery.objects.get(slot=slot), to_place="slot", to_slot=slot,
                 to_status=BatteryStatus.QUARANTINED, action="energy.battery.quarantined")
    admin = SuperuserFactory()
    _cabinet, views = selectors.cabinet_grid(admin, cab.pk)
    grid = Counter(view.state for view in views)
    counts = selectors.cabinet_counts([cab.pk])[cab.pk]
    assert grid == {"locked": 1, "full": 4, "charging": 1, "empty": 6}
    assert (counts["locked"], counts["fault"], counts["empty"], counts["charging"]) == (
        grid["locked"], grid["fault"], grid["empty"], grid["charging"])


def test_the_cabinet_page_counts_its_refused_messages_by_reason(client, op, cab):
    from nuanxin.energy.models import IngestRejection

    now = timezone.now()
    other = f.cabinet(op=op)
    IngestRejection.objects.bulk_create(
        [IngestRejection(received_at=now, reason="duplicate", topic="t", serial=cab.serial)] * 3
        + [IngestRejection(received_at=now, reason="malformed", topic="t", serial=cab.serial),
           IngestRejection(received_at=now - timedelta(days=2), reason="malformed", topic="t",
                           serial=cab.serial),
           IngestRejection(received_at=now, reason="malformed", topic="t",
                           serial=other.serial)])
    client.force_login(f.operator_user(op))
    html = client.get(reverse("energy_console:cabinet", args=[cab.pk])).content.decode()
    section = html[html.index('data-testid="rejections"'):]
    assert "重复消息 3 条" in section and "格式错误 1 条" in section
    quiet = client.get(reverse("energy_console:cabinet", args=[other.pk])).content.decode()
    assert "格式错误 1 条" in quiet and "重复消息 3 条" not in quiet


def test_swap_records_ignore_dates_at_the_calendars_edges(member_client, cab, op):
    completed_swap(cab, f.subscribed_rider(op=op))
    url = reverse("energy_console:swaps")
    for query in ("?from=0001-01-01", "?from=9999-12-31&to=9999-12-31", "?to=0001-01-01"):
        response = member_client.get(url + query)
        assert response.status_code == 200
        assert "****" in text(response)  # the filter is dropped, the swap still listed

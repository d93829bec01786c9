"""An alarm and a work order each have a console page that tells what happened to them, in
order and in words (the workflow's timeline), and lets the viewer act from there. Only those
who see the cabinet see the page."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from nuanxin.accounts.phones import mask_phone
from nuanxin.energy.models import AlarmKind, BatteryStatus, WorkOrder, WorkOrderKind
from nuanxin.energy.services import safety, swaps, workorders
from nuanxin.energy.services.workflows import ALARM_WORKFLOW
from tests.energy.test_swaps import ack_last, held, return_battery, take_battery, world
from tests.factories import energy as f
from tests.factories.people import StaffFactory, login
from tests.factories.places import CHUITAI, YIJIASHAN, StationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cab():
    return f.cabinet(station=StationFactory(region_code=YIJIASHAN), name="义驾山1号柜",
                     full=2, charging=1)


@pytest.fixture
def member(cab):
    return f.operator_user(cab.operator)


def timeline(response) -> list[str]:
    """The timeline's rows as a reader sees them, whitespace folded."""
    html = response.content.decode()
    block = html[html.index("data-timeline"):]
    block = block[:block.index("</ol>")]
    rows = re.findall(r"<li[^>]*>(.*?)</li>", block, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]


def steps(response) -> list[str]:
    """The words of each timeline row (what happened), in order."""
    html = response.content.decode()
    block = html[html.index("data-timeline"):]
    return re.findall(r"<strong>(.*?)</strong>", block[:block.index("</ol>")])


def hot_battery_alarm(cab):
    battery = cab.slots.filter(battery__status=BatteryStatus.FULL).first().battery
    return safety.alarm_raise(cabinet=cab, kind=AlarmKind.DOOR_JAM, at=timezone.now(),
                              slot=battery.slot, battery=battery)


def test_an_alarms_page_tells_its_story_from_raised_to_resolved(client, cab, member):
    alarm = hot_battery_alarm(cab)
    safety.alarm_acknowledge(user=member, alarm_id=alarm.pk)
    safety.alarm_resolve(user=member, alarm_id=alarm.pk, note="门轴已更换，开关正常")
    client.force_login(member)
    page = client.get(reverse("energy_console:alarm", args=[alarm.pk]))
    assert page.status_code == 200
    rows = timeline(page)
    assert len(rows) == 3
    assert "柜机" in rows[0] and "柜机报警" in rows[0]
    assert str(member) in rows[1] and "确认告警" in rows[1] and "待处理 → 已确认" in rows[1]
    assert (str(member) in rows[2] and "解决了告警" in rows[2]
            and "门轴已更换，开关正常" in rows[2])
    html = page.content.decode()
    assert "义驾山1号柜" in html and 'data-testid="alarm-state">已解决<' in html
    assert 'action="/console/energy/alarms/' not in html  # nothing left to do


def test_the_alarm_page_reads_in_english_too(client, cab, member):
    alarm = hot_battery_alarm(cab)
    safety.alarm_acknowledge(user=member, alarm_id=alarm.pk)
    client.force_login(member)
    with translation.override("en"):
        page = client.get(reverse("energy_console:alarm", args=[alarm.pk]),
                          HTTP_ACCEPT_LANGUAGE="en")
    rows = timeline(page)
    assert "Cabinet" in rows[0] and "Alarm reported by the cabinet" in rows[0]
    assert "Acknowledged" in rows[1] and "Pending → Acknowledged" in rows[1]


def test_acting_on_the_alarms_page_comes_back_to_it_with_one_more_row(client, cab, member):
    alarm = hot_battery_alarm(cab)
    client.force_login(member)
    url = reverse("energy_console:alarm", args=[alarm.pk])
    before = timeline(client.get(url))
    done = client.post(reverse("energy_console:alarm_acknowledge", args=[alarm.pk]),
                       {"next": url})
    assert done.status_code == 302 and done["Location"] == url
    after = timeline(client.get(url))
    assert after[:len(before)] == before and len(after) == len(before) + 1
    assert "确认告警" in after[-1]
    sent = client.post(reverse("energy_console:work_orders"),
                       {"alarm": alarm.pk, "kind": WorkOrderKind.TO_MAINTENANCE, "next": url})
    assert sent.status_code == 302 and sent["Location"] == url
    order = WorkOrder.objects.get(alarm=alarm)
    html = client.get(url).content.decode()
    assert reverse("energy_console:work_order", args=[order.pk]) in html


def test_a_work_orders_page_shows_where_it_came_from_and_what_became_of_it(client, cab, member):
    alarm = hot_battery_alarm(cab)
    order = workorders.work_order_open(user=member, kind=WorkOrderKind.TO_MAINTENANCE,
                                       alarm_id=alarm.pk, note="电池外壳鼓包")
    workorders.work_order_complete(user=member, work_order_id=order.pk)
    client.force_login(member)
    page = client.get(reverse("energy_console:work_order", args=[order.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("energy_console:alarm", args=[alarm.pk]) in html
    assert "电池外壳鼓包" in html and 'data-testid="work-order-state">已完成<' in html
    rows = timeline(page)
    assert len(rows) == 2
    assert "开工单" in rows[0] and str(member) in rows[0] and "电池外壳鼓包" in rows[0]
    assert "完成工单" in rows[1] and "待处理 → 已完成" in rows[1]
    # The repaired battery can go back into service from the order's own page.
    assert 'value="return_to_service"' in html
    assert f'action="{reverse("energy_console:work_orders")}"' in html


def test_the_lists_link_to_each_alarms_and_orders_page(client, cab, member):
    alarm = hot_battery_alarm(cab)
    order = workorders.work_order_open(user=member, kind=WorkOrderKind.TO_MAINTENANCE,
                                       alarm_id=alarm.pk)
    client.force_login(member)
    alarms = client.get(reverse("energy_console:alarms")).content.decode()
    orders = client.get(reverse("energy_console:work_orders")).content.decode()
    assert f'href="{reverse("energy_console:alarm", args=[alarm.pk])}"' in alarms
    assert f'href="{reverse("energy_console:work_order", args=[order.pk])}"' in orders


@pytest.mark.parametrize("who", ["other_operator", "staff_elsewhere"])
def test_someone_who_does_not_see_the_cabinet_finds_no_page(client, cab, member, who):
    alarm = hot_battery_alarm(cab)
    order = workorders.work_order_open(user=member, kind=WorkOrderKind.TO_MAINTENANCE,
                                       alarm_id=alarm.pk, note="仅本运营商可见")
    if who == "other_operator":
        client.force_login(f.operator_user(f.operator(name="别家换电")))
    else:
        login(client, StaffFactory(region_code=CHUITAI))
    for url in (reverse("energy_console:alarm", args=[alarm.pk]),
                reverse("energy_console:work_order", args=[order.pk])):
        page = client.get(url)
        assert page.status_code == 404
        assert "义驾山1号柜" not in page.content.decode()
        assert "仅本运营商可见" not in page.content.decode()


def test_station_staff_of_the_community_see_both_pages(client, cab, member):
    alarm = hot_battery_alarm(cab)
    order = workorders.work_order_open(user=member, kind=WorkOrderKind.TO_MAINTENANCE,
                                       alarm_id=alarm.pk)
    login(client, StaffFactory(region_code=YIJIASHAN))
    assert client.get(reverse("energy_console:alarm", args=[alarm.pk])).status_code == 200
    assert client.get(reverse("energy_console:work_order", args=[order.pk])).status_code == 200


def test_a_swaps_page_tells_it_door_by_door_with_the_rider_masked(client):
    cab, rider = world()
    rider.display_name = "张师傅"
    rider.save()
    old = held(rider)
    swap = swaps.swap_start(rider=rider, cabinet_id=cab.pk)
    ack_last(swap)
    swap = take_battery(return_battery(swap, old.serial))
    client.force_login(f.operator_user(cab.operator))
    page = client.get(reverse("energy_console:swap", args=[swap.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="swap-state">换电完成<' in html
    assert old.serial in html and swap.battery_released.serial in html
    assert rider.phone not in html and "张师傅" not in html
    rows = timeline(page)
    done = steps(page)
    assert done[0] == "开始换电" and done[-1] == "换电完成"
    doors = ("还电仓门已打开", "旧电池已放回", "取电仓门已打开")
    assert [s for s in done if s in doors] == list(doors)
    assert "下发开门指令" in done and "柜机确认了指令" in done
    assert mask_phone(rider.phone) in rows[0]
    assert client.get(reverse("energy_console:swaps")).content.decode().count(
        f'href="{reverse("energy_console:swap", args=[swap.pk])}"') == 1
    client.force_login(f.operator_user(f.operator(name="别家换电")))
    assert client.get(reverse("energy_console:swap", args=[swap.pk])).status_code == 404


def test_a_longer_history_costs_no_more_queries(client, cab, member):
    """Each page reads its history in one query, whoever acted and however long it is."""
    alarm = hot_battery_alarm(cab)
    client.force_login(member)
    url = reverse("energy_console:alarm", args=[alarm.pk])
    client.get(url)  # sessions, caches and the like settle on the first request

    def queries() -> int:
        with CaptureQueriesContext(connection) as run:
            assert client.get(url).status_code == 200
        return len(run)

    short = queries()
    for _ in range(6):
        ALARM_WORKFLOW.record(alarm, "energy.alarm.cleared", at=timezone.now(),
                              actor=f.operator_user(cab.operator))
    safety.alarm_acknowledge(user=member, alarm_id=alarm.pk)
    workorders.work_order_open(user=member, kind=WorkOrderKind.TO_MAINTENANCE,
                               alarm_id=alarm.pk)
    assert len(timeline(client.get(url))) == 8
    assert queries() == short

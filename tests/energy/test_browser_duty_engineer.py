"""The cabinet operator's duty engineer, in chromium at 360 px: signs in on the partner login,
sees an over-temperature alarm (the slot locked itself, the battery is quarantined), opens a
work order from the alarm and completes it (the battery goes to the depot for maintenance),
resolves the alarm with a note, and checks which batteries lost health fastest this quarter.

The alarm comes through the real service, as the ingester would apply the cabinet's start and
end messages; everything after that is done with the console's own links, forms and buttons.
Screenshots of the alarm list, the slot grid and the health page go to pytest's tmp_path."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from nuanxin.energy import protocol
from nuanxin.energy.models import (
    AlarmState,
    Battery,
    BatteryHealthSample,
    BatteryStatus,
    CustodyEntry,
    Place,
    Slot,
    WorkOrder,
    WorkOrderKind,
    WorkOrderState,
)
from nuanxin.energy.services import custody, safety
from tests.factories import energy as f
from tests.factories.people import PartnerUserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "partner-long-password"  # what tests.alliance.helpers.partner_user sets
HOT_SLOT = 7  # a charging slot: the cabinet builder fills 1-6 full, 7-8 charging
NOTE = "已到场检查：7 号仓电池过热，已取出送修，仓内无异常。"


def shot(page, folder, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def history(battery: Battery, points: list[tuple[int, float]]) -> None:
    """SoH samples (days ago, SoH %); the battery's own figure is the latest."""
    now = timezone.now()
    BatteryHealthSample.objects.bulk_create(
        BatteryHealthSample(battery=battery, at=now - timedelta(days=days), soh_pct=soh,
                            cycle_count=400 - days)
        for days, soh in points)
    Battery.objects.filter(pk=battery.pk).update(soh_pct=points[-1][1],
                                                 cycle_count=400 - points[-1][0])


@pytest.fixture
def duty(regions):
    op = f.operator("中国铁塔义乌分公司")
    cab = f.cabinet(op=op, name="义驾山社区换电柜", address="稠城街道义驾山社区党群服务中心东侧",
                    full=6, charging=2)
    engineer = PartnerUserFactory(partner=op.partner, username="tower.duty")
    engineer.display_name = "值班工程师王工"
    engineer.save(update_fields=["display_name"])
    batteries = {n: Battery.objects.get(slot__cabinet=cab, slot__number=n) for n in (1, 2, 7)}

    # This quarter (the last 90 days): slot 1's battery fell 8 points, the hot one 5.
    # Slot 2's fell 9 points since half a year ago, but only 1 within the window.
    history(batteries[1], [(80, 96.0), (40, 91.5), (1, 88.0)])
    history(batteries[HOT_SLOT], [(75, 97.0), (2, 92.0)])
    history(batteries[2], [(200, 100.0), (60, 92.0), (3, 91.0)])

    # The cabinet reports the battery in slot 7 over 60 ℃, then (charging stopped) the end.
    hot = batteries[HOT_SLOT]
    started = timezone.now() - timedelta(minutes=25)
    for seq, state, at in ((1, "start", started), (2, "end", started + timedelta(minutes=9))):
        message = protocol.AlarmEvent(id=f"duty-{seq}", seq=seq, ts=0, serial=cab.serial,
                                      alarm_id="OT-0007", kind="over_temperature", state=state,
                                      slot=HOT_SLOT, battery=hot.serial, value=67.5)
        alarm = safety.alarm_on_device(cabinet=cab, message=message, at=at)
    return {"cabinet": cab, "engineer": engineer, "alarm": alarm, "hot": hot,
            "fastest": batteries[1], "old_decline": batteries[2]}


def test_duty_engineer_handles_an_over_temperature_alarm_and_checks_fleet_health(
        new_page, duty, tmp_path):
    cab, engineer, alarm, hot = duty["cabinet"], duty["engineer"], duty["alarm"], duty["hot"]
    # What the ladder did before anyone looked: slot locked, battery quarantined in place.
    assert Slot.objects.get(cabinet=cab, number=HOT_SLOT).locked
    assert Battery.objects.get(pk=hot.pk).status == BatteryStatus.QUARANTINED
    assert alarm.cleared_at is not None and alarm.state == AlarmState.OPEN

    # Sign in: the console sends an anonymous visitor to choose a sign-in.
    page = new_page()
    page.goto("/console/energy/")
    page.get_by_role("link", name="换电运营商（联盟单位）登录").click()
    expect(page).to_have_url(re.compile(r"/partner/login/\?next=%2Fconsole%2Fenergy%2F$"))
    page.fill("input[name=username]", engineer.username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/console/energy/$"))
    expect(page.locator(f'tr[data-cabinet="{cab.pk}"]')).to_contain_text("义驾山社区换电柜")
    expect(page.get_by_role("link", name="未解决告警 1 条")).to_be_visible()

    # The alarm list: what, where, which battery, and that the cabinet has reported it over.
    page.get_by_role("link", name="未解决告警 1 条").click()
    row = page.locator(f'tr[data-alarm="{alarm.pk}"]')
    expect(row).to_contain_text("⚠ 温度过高")
    expect(row).to_contain_text("67.5 ℃")
    expect(row).to_contain_text("义驾山社区换电柜")
    expect(row).to_contain_text(f"{HOT_SLOT} 号仓")
    expect(row).to_contain_text(hot.serial)
    expect(row).to_contain_text("消除")
    expect(row).to_contain_text("待处理")
    fits_the_phone(page)
    shot(page, tmp_path, "1-alarms")

    # The cabinet: the slot says, in words, that it is locked and its battery quarantined.
    row.get_by_role("link", name="义驾山社区换电柜").click()
    expect(page.locator("h1")).to_have_text("义驾山社区换电柜")
    expect(page.get_by_role("status")).to_contain_text("1 条未解决告警")
    expect(page.get_by_role("status")).to_contain_text(f"温度过高（{HOT_SLOT} 号仓）")
    slot = page.locator(f'.slot[data-slot="{HOT_SLOT}"]')
    expect(slot.locator(".state")).to_have_text("已锁定")
    expect(slot).to_contain_text(f"{hot.serial} · 已隔离")
    expect(slot).to_contain_text("⚠ 温度过高")
    expect(slot.get_by_role("button", name="解锁")).to_be_disabled()
    expect(page.locator('.slot[data-slot="1"] .state')).to_have_text("满电")
    fits_the_phone(page)
    shot(page, tmp_path, "2-cabinet")

    # Back to the alarm: open a work order sending its battery to maintenance.
    page.get_by_role("link", name="去处理").click()
    row = page.locator(f'tr[data-alarm="{alarm.pk}"]')
    row.get_by_role("button", name="开送修工单").click()
    order = WorkOrder.objects.get(alarm=alarm)
    expect(page.locator(".messages")).to_contain_text(f"已开工单 #{order.pk}。")
    assert (order.kind, order.battery_id, order.created_by_id) == (
        WorkOrderKind.TO_MAINTENANCE, hot.pk, engineer.pk)

    # Work orders: the battery goes to the depot when the order is completed.
    page.locator(".tabs").get_by_role("link", name="工单").click()
    line = page.locator(f'tr[data-work-order="{order.pk}"]')
    expect(line).to_contain_text("送修")
    expect(line).to_contain_text("来自告警：温度过高")
    expect(line).to_contain_text(f"电池 {hot.serial}")
    expect(line).to_contain_text("隔离")
    expect(line).to_contain_text(f"{HOT_SLOT} 号仓")
    line.get_by_role("button", name="完成").click()
    expect(page.locator(".messages")).to_contain_text(f"工单 #{order.pk} 已完成。")
    page.select_option("select[name=state]", "done")
    page.get_by_role("button", name="筛选").click()
    line = page.locator(f'tr[data-work-order="{order.pk}"]')
    expect(line).to_contain_text("已完成")
    expect(line).to_contain_text("维修中")
    expect(line).to_contain_text("值班工程师王工 于")
    shot(page, tmp_path, "3-work-orders")

    # The slot is empty now and stays locked until someone unlocks it on purpose.
    page.goto(f"/console/energy/cabinets/{cab.pk}/")
    slot = page.locator(f'.slot[data-slot="{HOT_SLOT}"]')
    expect(slot.locator(".state")).to_have_text("已锁定")
    expect(slot).not_to_contain_text(hot.serial)

    # Resolve the alarm with a note.
    page.get_by_role("link", name="去处理").click()
    row = page.locator(f'tr[data-alarm="{alarm.pk}"]')
    row.get_by_role("textbox", name="处理说明").fill(NOTE)
    row.get_by_role("button", name="解决").click()
    expect(page.locator(".messages")).to_contain_text("告警已标记为解决。")
    expect(page.locator(f'tr[data-alarm="{alarm.pk}"]')).to_have_count(0)
    page.select_option("select[name=state]", "resolved")
    page.get_by_role("button", name="筛选").click()
    row = page.locator(f'tr[data-alarm="{alarm.pk}"]')
    expect(row).to_contain_text("已解决")
    expect(row).to_contain_text("值班工程师王工 于")
    expect(row).to_contain_text(NOTE)
    expect(row.get_by_role("button")).to_have_count(0)
    shot(page, tmp_path, "4-alarm-resolved")

    # The alarm's own page tells what happened, in order, and leads to its work order.
    row.get_by_role("link", name=re.compile(r"^\d{4}-\d\d-\d\d ")).click()
    expect(page.get_by_test_id("alarm-state")).to_have_text("已解决")
    steps = page.locator("[data-timeline] li")
    expect(steps).to_have_count(3)
    expect(steps.nth(0)).to_contain_text("柜机报警")
    expect(steps.nth(1)).to_contain_text("柜机报告已消除")
    expect(steps.nth(2)).to_contain_text("解决了告警")
    expect(steps.nth(2)).to_contain_text("待处理 → 已解决")
    expect(steps.nth(2)).to_contain_text("值班工程师王工")
    expect(steps.nth(2)).to_contain_text(NOTE)
    fits_the_phone(page)
    shot(page, tmp_path, "5-alarm-page")
    page.get_by_role("link", name=f"#{order.pk} 送修").click()
    expect(page.get_by_test_id("work-order-state")).to_have_text("已完成")
    steps = page.locator("[data-timeline] li")
    expect(steps).to_have_count(2)
    expect(steps.nth(0)).to_contain_text("开工单")
    expect(steps.nth(1)).to_contain_text("完成工单")
    expect(steps.nth(1)).to_contain_text("待处理 → 已完成")
    expect(page.get_by_role("button", name="修复上架")).to_be_visible()
    fits_the_phone(page)
    shot(page, tmp_path, "6-work-order-page")

    # Fleet health: the battery that fell fastest this quarter comes first.
    page.locator(".tabs").get_by_role("link", name="电池健康").click()
    expect(page.locator("h1")).to_have_text("电池健康")
    expect(page.get_by_role("heading", name="近 90 天衰减最快的电池")).to_be_visible()
    rows = page.locator("#fastest tbody tr")
    expect(rows).to_have_count(3)
    fastest, slow = duty["fastest"], duty["old_decline"]
    expect(rows.nth(0)).to_have_attribute("data-battery", fastest.serial)
    expect(rows.nth(0)).to_contain_text("96.0%")
    expect(rows.nth(0)).to_contain_text("88.0%")
    expect(rows.nth(0).locator("strong")).to_have_text("8.0")
    expect(rows.nth(0)).to_contain_text("1 号仓")
    expect(rows.nth(0)).to_contain_text("399")
    expect(rows.nth(1)).to_have_attribute("data-battery", hot.serial)
    expect(rows.nth(1)).to_contain_text("维修中")
    expect(rows.nth(1).get_by_role("button", name="送修")).to_have_count(0)
    expect(rows.nth(2)).to_have_attribute("data-battery", slow.serial)
    expect(rows.nth(2).locator("strong")).to_have_text("1.0")
    fits_the_phone(page)
    shot(page, tmp_path, "5-health")

    # What the engineer would check afterwards.
    hot.refresh_from_db()
    assert hot.status == BatteryStatus.MAINTENANCE
    assert custody.place_of(hot) == Place.DEPOT and hot.slot_id is None
    last = CustodyEntry.objects.filter(battery=hot).latest("at", "pk")
    assert (last.to_place, last.to_status, last.work_order_id, last.actor_id) == (
        Place.DEPOT, BatteryStatus.MAINTENANCE, order.pk, engineer.pk)
    assert custody.ledger_verify() == []
    order.refresh_from_db()
    assert order.state == WorkOrderState.DONE and order.done_by_id == engineer.pk
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.RESOLVED
    assert alarm.resolved_by_id == engineer.pk and alarm.resolution_note == NOTE
    assert alarm.acknowledged_by_id == engineer.pk
    assert Slot.objects.get(cabinet=cab, number=HOT_SLOT).locked

"""Issue 3's rider journey in chromium at 360 px: log in by SMS, find the cabinet, scan its
code, tap start, and watch the swap advance while a simulated cabinet on the real broker
opens its doors and the test's hands put the old battery in and take the new one out; the
page ends on 完成 with the new battery's charge and health.

Screenshots go to a temporary folder (NUANXIN_SCREENSHOTS names another one) so a person
can look at what the rider sees."""

import os
import re
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from nuanxin.energy.models import Battery, Swap, SwapState
from nuanxin.energy.qr import cabinet_token
from nuanxin.energy.services import swaps
from tests.factories import energy as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HERE = (29.3155, 120.0782)  # 义驾山
_shots: list[Path] = []


def shot(page, name: str) -> None:
    if not _shots:
        folder = os.environ.get("NUANXIN_SCREENSHOTS")
        _shots.append(Path(folder) if folder else Path(tempfile.mkdtemp(prefix="energy-shots-")))
        _shots[0].mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(_shots[0] / f"{name}.png"), full_page=True)


@pytest.fixture
def world(regions):
    op = f.operator("中国铁塔义乌分公司")
    cab = f.cabinet(op=op, name="义驾山社区换电柜", address="稠城街道义驾山社区党群服务中心东侧",
                    lat=HERE[0] + 0.0008, lng=HERE[1] + 0.0004, full=6, charging=2,
                    online=False)
    f.cabinet(op=op, name="宾王路换电柜", lat=HERE[0] + 0.006, lng=HERE[1] - 0.003,
              full=2, charging=4, online=False)
    rider = f.subscribed_rider(op=op, soc=9.0)
    return {"op": op, "cabinet": cab, "rider": rider,
            "held": Battery.objects.get(holder=rider)}


def log_in(page, phone: str, sms_outbox, next_path: str) -> None:
    page.goto(f"/accounts/login/?next={next_path}")
    page.fill("input[name=phone]", phone)
    page.get_by_role("button", name="获取验证码").click()
    code = sms_outbox.last_code(phone)
    page.fill("input[name=code]", code)
    page.get_by_role("button", name="登录", exact=True).click()
    # A number that has not agreed to the privacy notice yet is asked once.
    consent = page.locator("input[name=consent]")
    page.wait_for_load_state()
    if consent.count():
        if not page.input_value("input[name=code]"):
            page.fill("input[name=code]", code)
        if page.locator("select[name=occupation]").count():
            page.select_option("select[name=occupation]", "food_delivery")
        consent.check()
        page.get_by_role("button", name="登录", exact=True).click()


def test_rider_scans_swaps_and_sees_the_new_batterys_charge_and_health(
        new_page, world, sms_outbox, mqtt_ingester, virtual_cabinet):
    cab, rider, held = world["cabinet"], world["rider"], world["held"]
    vc = virtual_cabinet(cab)
    assert mqtt_ingester.wait_idle(10)
    cab.refresh_from_db()
    assert cab.online, "the simulated cabinet's boot should bring it online"

    page = new_page(geolocation={"latitude": HERE[0], "longitude": HERE[1]},
                    permissions=["geolocation"])
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/status/" in r.url else None)
    log_in(page, rider.phone, sms_outbox, "/")
    # The worker home (stations near me) leads to the cabinets.
    expect(page.locator("#results, .notice").first).to_be_visible()
    shot(page, "0-home")
    page.locator("#energy-link").click()

    # Cabinets near me: the phone's position, nearest first, with what I could take now.
    expect(page.locator("#results")).to_be_visible()
    first = page.locator("#results li").first
    expect(first).to_contain_text("义驾山社区换电柜")
    expect(first.locator(".count b")).to_have_text("6")
    expect(first).to_contain_text("在线")
    expect(page.locator(".cab-marker").first).to_be_visible()
    shot(page, "1-nearby")

    # The code on the cabinet opens the scan page.
    page.goto(f"/energy/c/{cabinet_token(cab.pk)}/")
    expect(page.locator("h1")).to_have_text("义驾山社区换电柜")
    start = page.get_by_role("button", name="开始换电")
    expect(start).to_be_visible()
    shot(page, "2-scan")
    start.click()

    # The empty door opens; the page names it in big type.
    expect(page).to_have_url(re.compile(r"/energy/swaps/\d+/$"))
    swap = Swap.objects.get(rider=rider)
    empty_door = vc.wait_door_open(15)
    assert empty_door is not None, "the cabinet never opened a door"
    expect(page.locator("#swap-status")).to_have_attribute("data-state", "returning",
                                                           timeout=10_000)
    expect(page.locator("#door-number")).to_have_text(str(empty_door))
    expect(page.locator("#steps li.done")).to_contain_text("空仓门已打开")
    expect(page.locator("#steps li.current")).to_contain_text("放入旧电池并关门")
    shot(page, "3-progress-return")

    # The rider's hands: the flat battery goes in, the door shuts; the full door opens.
    vc.insert_battery(empty_door, held.serial, soc=held.soc_pct, soh=held.soh_pct)
    full_door = vc.wait_door_open(15)
    assert full_door is not None and full_door != empty_door
    expect(page.locator("#swap-status")).to_have_attribute("data-state", "taking",
                                                           timeout=10_000)
    expect(page.locator("#door-number")).to_have_text(str(full_door))
    expect(page.locator("#steps li.current")).to_contain_text("取出新电池并关门")
    shot(page, "4-progress-take")

    taken = vc.take_battery(full_door)
    expect(page.locator("#swap-status")).to_have_attribute("data-state", "completed",
                                                           timeout=10_000)
    swap.refresh_from_db()
    assert swap.state == SwapState.COMPLETED
    new = Battery.objects.get(holder=rider)
    assert new.serial == taken and new.pk == swap.battery_released_id
    expect(page.locator("#swap-label")).to_contain_text("完成")
    expect(page.locator("#new-soc b")).to_have_text(f"{new.soc_pct:.0f}%")
    expect(page.locator("#new-soh b")).to_have_text(f"{new.soh_pct:.0f}%")
    expect(page.locator("#cancel")).to_have_count(0)
    shot(page, "5-completed")

    # Polling has stopped: nothing more is asked of the server once the swap is over.
    asked = len(polls)
    page.wait_for_timeout(2500)
    assert len(polls) == asked

    # My page: the battery in hand is the new one.
    page.get_by_role("link", name="查看我的电池").click()
    expect(page.locator("#my-soc b")).to_have_text(f"{new.soc_pct:.0f}%")
    expect(page.locator("#my-soh b")).to_have_text(f"{new.soh_pct:.0f}%")
    expect(page.locator("#recent")).to_contain_text("换电完成")
    shot(page, "6-me")


def test_rider_reserves_a_battery_on_the_way_and_cancels(new_page, world, sms_outbox):
    cab, rider = world["cabinet"], world["rider"]
    type(cab).objects.filter(pk=cab.pk).update(online=True)
    page = new_page()
    log_in(page, rider.phone, sms_outbox, f"/energy/cabinets/{cab.serial}/")
    expect(page.locator("h1")).to_have_text("义驾山社区换电柜")
    expect(page.locator("#available b")).to_have_text("6")
    expect(page.locator("#navigate")).to_have_attribute("href", re.compile(r"uri\.amap\.com"))
    shot(page, "7-cabinet")

    page.get_by_role("button", name="预约 10 分钟").click()
    expect(page.locator("#swap-status")).to_have_attribute("data-state", "reserved")
    expect(page.locator("#swap-message")).to_contain_text("已为您保留一块满电电池")
    expect(page.locator("#navigate")).to_be_visible()
    shot(page, "8-reserved")

    page.get_by_role("button", name="取消预约").click()
    expect(page.locator("#swap-status")).to_have_attribute("data-state", "cancelled")
    assert Swap.objects.get(rider=rider).state == SwapState.CANCELLED
    page.goto(f"/energy/cabinets/{cab.serial}/")
    expect(page.locator("#available b")).to_have_text("6")


def test_a_cabinet_that_never_answers_and_a_forged_code_are_explained(new_page, world,
                                                                     sms_outbox):
    cab, rider = world["cabinet"], world["rider"]
    type(cab).objects.filter(pk=cab.pk).update(online=True)  # says so, but hears nothing
    page = new_page()
    log_in(page, rider.phone, sms_outbox, f"/energy/c/{cabinet_token(cab.pk)}/")
    page.get_by_role("button", name="开始换电").click()
    expect(page.locator("#swap-status")).to_have_attribute("data-state", "opening_return")
    swap = Swap.objects.get(rider=rider)
    later = timezone.now()
    while swap.is_open and later < timezone.now() + timedelta(minutes=30):
        later += timedelta(minutes=1)
        swaps.swaps_expire_overdue(now=later)
        swap.refresh_from_db()
    assert swap.state == SwapState.FAILED
    # The open page learns it by itself, and says what happens next.
    expect(page.locator("#failure")).to_contain_text("不收费", timeout=5000)
    expect(page.locator("#failure")).to_contain_text("运营商已收到通知")
    expect(page.locator("#cancel")).to_have_count(0)
    shot(page, "9-failed")

    forged = cabinet_token(cab.pk)[:-2] + "xx"
    new_page.allow_error_status(forged)
    page.goto(f"/energy/c/{forged}/")
    expect(page.locator("#refusal")).to_contain_text("不是暖新换电柜的有效二维码")
    expect(page.get_by_role("button", name="开始换电")).to_have_count(0)
    shot(page, "10-forged")

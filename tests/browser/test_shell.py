"""The rider's app shell on a 360 px phone: the tab bar, the services page, back links and
扫一扫 (reading a code from a photo, as in WeChat's browser where the camera stream is not
available)."""

import io
import os

import pytest
import segno
from playwright.sync_api import expect

from nuanxin.stations.qr import station_token
from tests.factories.people import WorkerFactory, browser_login
from tests.factories.places import QIANJIANGYUAN, StationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Where screenshots go when a person wants to look at them (not part of the project).
SHOTS = os.environ.get("NUANXIN_SCREENSHOTS")


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def rider_page(new_page, live_server, **profile):
    return browser_login(new_page(), WorkerFactory(**profile), live_server.url)


def qr_png(text: str) -> bytes:
    out = io.BytesIO()
    segno.make_qr(text, error="m").save(out, kind="png", scale=8, border=4)
    return out.getvalue()


def test_the_tab_bar_sits_under_the_thumb_and_leads_to_every_service(new_page, regions,
                                                                     live_server):
    station = StationFactory(region_code=QIANJIANGYUAN, name="钱江苑驿站")
    page = rider_page(new_page, live_server)
    page.goto("/")
    bar = page.locator("#tabbar")
    expect(bar).to_be_visible()
    box = bar.bounding_box()
    assert box["y"] + box["height"] == pytest.approx(740, abs=1)  # on the bottom edge
    assert box["width"] == pytest.approx(360, abs=1)
    tabs = bar.locator("a.tab")
    expect(tabs).to_have_text(["首页", "换电", "服务", "消息", "我的"])
    for i in range(5):
        tab = tabs.nth(i).bounding_box()
        assert tab["height"] >= 48 and tab["width"] >= 60
    expect(bar.locator("a.tab.active")).to_have_text("首页")
    shot(page, "rider-home")

    bar.get_by_text("服务").click()
    expect(page).to_have_url(f"{live_server.url}/services/")
    expect(page.locator("#tiles a")).to_contain_text(
        ["附近驿站", "附近换电柜", "我的电池", "我有困难", "我的需求", "问卷", "说说心里话",
         "我的社区"])
    expect(page.locator("button.scan-big")).to_be_visible()
    shot(page, "rider-services")

    page.locator("#tiles").get_by_text("我有困难").click()
    expect(page).to_have_url(f"{live_server.url}/needs/new/")
    expect(bar.locator("a.tab.active")).to_have_text("服务")
    page.locator("#back-link").click()
    expect(page).to_have_url(f"{live_server.url}/services/")

    # The last thing on a long page is not hidden behind the bar.
    page.goto(f"/stations/{station.pk}/")
    last = page.locator("#community-link")
    last.scroll_into_view_if_needed()
    page.mouse.wheel(0, 5000)
    assert last.bounding_box()["y"] + last.bounding_box()["height"] <= bar.bounding_box()["y"]
    expect(page.locator("#back-link")).to_have_text("‹ 首页")


def test_scan_opens_a_station_code_from_a_photo(new_page, regions, live_server):
    station = StationFactory(region_code=QIANJIANGYUAN, name="钱江苑驿站")
    page = rider_page(new_page, live_server)
    page.goto("/services/")
    page.locator("button.scan-big").click()
    expect(page.locator("#scan-dialog")).to_be_visible()
    address = f"{live_server.url}/c/{station_token(station.pk)}/"
    page.set_input_files("#scan-file", files=[{"name": "code.png", "mimeType": "image/png",
                                               "buffer": qr_png(address)}])
    expect(page).to_have_url(address)
    expect(page.locator("body")).to_contain_text("钱江苑驿站")


@pytest.mark.parametrize("text", [
    "https://evil.example/c/abc/",  # another site, same shape
    "/accounts/me/delete/",  # ours, but not a code's address
    "hello",
])
def test_scan_refuses_a_code_that_is_not_a_station_or_cabinet(new_page, regions, live_server,
                                                             text):
    page = rider_page(new_page, live_server)
    page.goto("/services/")
    page.locator("button.scan-big").click()
    page.set_input_files("#scan-file", files=[{"name": "code.png", "mimeType": "image/png",
                                               "buffer": qr_png(text)}])
    expect(page.locator("#scan-status")).to_have_text("这不是暖新驿站或换电柜的二维码。")
    expect(page).to_have_url(f"{live_server.url}/services/")

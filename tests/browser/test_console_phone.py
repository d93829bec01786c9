"""The staff console on a 360 px phone: the menu waits behind one button, the needs and
stations lists are labelled cards with their status in sight, and a need with many
reporters shows what to do before who reported it."""

import os

import pytest
from playwright.sync_api import expect

from tests.factories.needs import NeedFactory
from tests.factories.people import StaffFactory, WorkerFactory, browser_login
from tests.factories.places import YIJIASHAN, StationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("NUANXIN_SCREENSHOTS")
WIDTH, HEIGHT = 360, 740


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.fixture
def desk(new_page, regions, live_server):
    return browser_login(new_page(), StaffFactory(), live_server.url)


def inside_the_screen(locator):
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH


def test_the_menu_is_one_button_and_the_page_comes_first(desk):
    desk.goto("/console/needs/")
    menu = desk.locator("#console-nav")
    expect(menu).not_to_have_attribute("open", "")
    expect(menu.get_by_role("link", name="需求清单")).to_be_hidden()
    assert desk.locator("h1").bounding_box()["y"] < 220
    menu.locator("summary").click()
    expect(menu.get_by_role("link", name="服务阵地")).to_be_visible()
    menu.get_by_role("link", name="服务阵地").click()
    expect(desk.locator("h1")).to_have_text("服务阵地")


def test_the_needs_and_stations_lists_show_their_status_on_a_phone(desk):
    for i in range(3):
        NeedFactory(title=f"充电难题{i}", status="accepted")
    StationFactory(region_code=YIJIASHAN, name="义驾山驿站")

    desk.goto("/console/needs/")
    rows = desk.locator("#needs-table tbody tr")
    expect(rows).to_have_count(3)
    for i in range(3):
        status = rows.nth(i).locator(".status")
        expect(status).to_have_text("已受理")
        assert inside_the_screen(status)
        assert inside_the_screen(rows.nth(i).get_by_role("link"))
    expect(rows.first.locator("td[data-label='紧急']")).to_be_visible()
    assert desk.evaluate("document.documentElement.scrollWidth") <= WIDTH
    shot(desk, "console-needs")

    desk.goto("/console/")
    row = desk.locator("#stations-table tbody tr").first
    expect(row.locator(".open, .closed")).to_be_visible()
    assert inside_the_screen(row.locator(".open, .closed"))
    assert desk.evaluate("document.documentElement.scrollWidth") <= WIDTH
    shot(desk, "console-stations")


def test_a_need_with_many_reporters_puts_its_actions_first(desk):
    need = NeedFactory(title="取餐点没有充电的地方", status="submitted",
                       raisers=[WorkerFactory(home_region_code=None) for _ in range(60)])
    desk.goto(f"/console/needs/{need.pk}/")
    actions = desk.locator("#actions-h").bounding_box()
    reporters = desk.locator("#raisers-h").bounding_box()
    assert actions["y"] < reporters["y"]
    assert actions["y"] < 2 * HEIGHT  # within a scroll or two, not 21,000 px down
    expect(desk.locator("#raisers > li")).to_have_count(5)
    more = desk.locator("#more-raisers")
    expect(more.locator("summary")).to_have_text("还有 55 人")
    expect(more.locator("li").first).to_be_hidden()
    height = desk.evaluate("document.documentElement.scrollHeight")
    assert height < 5000
    shot(desk, "console-need")
    more.locator("summary").click()
    expect(more.locator("li")).to_have_count(55)
    expect(more.locator("li").first).to_be_visible()

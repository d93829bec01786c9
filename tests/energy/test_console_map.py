"""The console's cabinet map frames every cabinet in the province over its district outlines
(one request for the whole province's backdrop; it used to be refused as too large)."""

import pytest
from playwright.sync_api import expect

from tests.factories import energy as f
from tests.factories.people import SuperuserFactory, browser_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_cabinets_far_apart_are_drawn_over_their_districts(new_page, regions, live_server):
    op = f.operator("铁塔换电浙江")
    f.cabinet(op=op, name="义驾山换电柜")  # 义乌市
    f.cabinet(op=op, name="西湖换电柜", region_code="330106")  # 杭州市西湖区
    f.cabinet(op=op, name="鹿城换电柜", region_code="330302")  # 温州市鹿城区
    page = browser_login(new_page(), SuperuserFactory(), live_server.url)
    outlines = []
    page.on("response", lambda r: outlines.append(r.status) if "/regions/outlines" in r.url
            else None)

    page.goto("/console/energy/")
    expect(page.locator("#energy-map .district-label", has_text="西湖区")).to_be_visible()
    expect(page.locator("#energy-map .district-label", has_text="鹿城区")).to_be_visible()
    assert outlines and set(outlines) == {200}

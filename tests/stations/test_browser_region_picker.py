"""In chromium at 360 px: picking a street narrows the communities to that street's, and
the campaign is saved for the community picked; no code is typed."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from nuanxin.accounts.models import StaffRole
from nuanxin.geo.models import Region, RegionLevel
from nuanxin.stations.models import HolidayCampaign
from tests.factories.people import StaffFactory, browser_login
from tests.factories.places import CHOUCHENG, OTHER_STREET, YIJIASHAN, YIWU, other_street

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

def test_the_cascade_narrows_each_level(new_page, live_server, regions):
    street = other_street()
    Region.objects.get_or_create(code=street.code + "001", defaults={
        "name": "测试社区", "level": RegionLevel.COMMUNITY, "parent_id": street.code,
        "is_demo": True})
    page = browser_login(new_page(), StaffFactory(role=StaffRole.DISTRICT_ADMIN, region_code=YIWU),
                         live_server.url)
    page.goto("/console/campaigns/")
    street = page.locator('select[name="region_1"]')
    community = page.locator('select[name="region_2"]')
    street.select_option(CHOUCHENG)
    names = community.locator("option").all_text_contents()
    assert "义驾山社区" in names and "测试社区" not in names
    street.select_option(OTHER_STREET)
    expect(community.locator("option")).to_have_text(["—", "测试社区"])
    street.select_option(CHOUCHENG)
    community.select_option(YIJIASHAN)
    page.fill('input[name="name"]', "春节不打烊")
    page.fill('input[name="starts_on"]', "2030-02-01")
    page.fill('input[name="ends_on"]', "2030-02-07")
    page.locator("form.card .actions button").click()
    page.wait_for_url("**/campaigns/*/")
    assert HolidayCampaign.objects.get().region_id == YIJIASHAN

"""Holiday campaigns pick their region by name (区县 → 街道 → 社区), within the staff
member's scope, with plain selects that work without JavaScript."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from nuanxin.accounts.models import StaffRole
from nuanxin.stations.models import HolidayCampaign
from tests.factories.people import StaffFactory, login
from tests.factories.places import CHUITAI, YIJIASHAN, YIWU

pytestmark = pytest.mark.django_db

CHOUCHENG = YIJIASHAN[:9]


def _post(client, **picked):
    starts = timezone.localdate() + timedelta(days=3)
    return client.post(reverse("console:campaigns"), {
        "name": "春节不打烊", "starts_on": starts.isoformat(),
        "ends_on": (starts + timedelta(days=5)).isoformat(), "hours": "00:00-24:00",
        **picked})


def test_the_form_offers_names_not_a_code_box(client):
    login(client, StaffFactory(role=StaffRole.DISTRICT_ADMIN, region_code=YIWU))
    page = client.get(reverse("console:campaigns")).content.decode()
    assert re.search(r'<select name="region_0"[^>]*data-level="district"', page)
    assert f'<option value="{YIWU}" selected>义乌市</option>' in page
    assert f'<option value="{CHOUCHENG}">稠城街道</option>' in page
    assert f'<option value="{YIJIASHAN}">义驾山社区</option>' in page
    assert 'optgroup label="稠城街道"' in page
    assert CHUITAI not in page  # another district's communities are not offered
    assert 'name="region"' not in page and "/static/geo/region_picker.js" in page


@pytest.mark.parametrize(("picked", "expected"), [
    ({"region_0": YIWU, "region_1": "", "region_2": ""}, YIWU),
    ({"region_0": YIWU, "region_1": CHOUCHENG, "region_2": ""}, CHOUCHENG),
    ({"region_0": YIWU, "region_1": CHOUCHENG, "region_2": YIJIASHAN}, YIJIASHAN),
])
def test_the_deepest_level_picked_is_the_campaigns_region(client, picked, expected):
    login(client, StaffFactory(role=StaffRole.DISTRICT_ADMIN, region_code=YIWU))
    assert _post(client, **picked).status_code == 302
    assert HolidayCampaign.objects.get().region_id == expected


@pytest.mark.parametrize("picked", [
    {"region_0": YIWU, "region_1": CHUITAI[:9], "region_2": ""},  # street of another district
    {"region_0": YIWU, "region_1": CHOUCHENG, "region_2": CHUITAI},  # community elsewhere
    {"region_0": CHUITAI[:6], "region_1": "", "region_2": ""},  # outside the scope
    {"region_0": "", "region_1": "", "region_2": ""},  # nothing picked
])
def test_a_pick_that_does_not_fit_is_refused_and_nothing_saved(client, picked):
    login(client, StaffFactory(role=StaffRole.DISTRICT_ADMIN, region_code=YIWU))
    response = _post(client, **picked)
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not HolidayCampaign.objects.exists()


def test_a_street_office_cannot_pick_its_district(client):
    login(client, StaffFactory(role=StaffRole.STREET_ADMIN, region_code=CHOUCHENG))
    assert _post(client, region_0=YIWU).status_code == 200
    assert _post(client, region_0=YIWU, region_1=CHOUCHENG).status_code == 302

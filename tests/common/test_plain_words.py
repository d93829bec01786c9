"""Pages speak plainly (issue 8 item 14): no internal references or datum names, and a
label's colon is the language's own."""

import re

import pytest
from django.utils import timezone

from nuanxin.alliance.models import Project, project_ref
from tests.factories.needs import NeedFactory
from tests.factories.people import StaffFactory, login
from tests.factories.places import YIJIASHAN, StationFactory, org_unit_for

pytestmark = pytest.mark.django_db


def test_a_needs_project_shows_as_its_title_linked(client):
    project = Project.objects.create(title="义驾山换电柜进小区", owner=org_unit_for(YIJIASHAN),
                                     created_at=timezone.now())
    need = NeedFactory(status="in_project", project_ref=project_ref(project.pk),
                       lat=29.3155, lng=120.0782)
    login(client, StaffFactory())
    html = client.get(f"/console/needs/{need.pk}/").content.decode()
    assert "alliance.project" not in html
    assert (f'<dd id="need-project"><a href="/console/alliance/projects/{project.pk}/">'
            "义驾山换电柜进小区</a></dd>") in html
    assert "WGS-84" not in html
    location = re.search(r'<dt>位置</dt><dd><a id="need-location" href="([^"]+)"', html)
    assert location and "position=120.078200,29.315500" in location.group(1)
    assert "coordinate=wgs84" in location.group(1)


def test_a_label_colon_is_full_width_in_chinese_and_ascii_in_english(client):
    station = StationFactory(region_code=YIJIASHAN, contact_phone="0579-85550000")
    chinese = client.get(f"/stations/{station.pk}/").content.decode()
    assert '联系电话：<a href="tel:0579-85550000">' in chinese
    english = client.get(f"/stations/{station.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    label = re.search(r'<p>([^<>]+)<a href="tel:0579-85550000">', english).group(1)
    assert label.endswith(": ") and "：" not in label and label.isascii()

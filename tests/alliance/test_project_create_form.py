"""A new project picks its owner by name (no 12-digit code) and can take an alliance
resource in the same step: all of it is saved, or nothing."""

from __future__ import annotations

import re

import pytest

from nuanxin.alliance.models import Project, ProjectResource
from tests.alliance.helpers import resource
from tests.factories.people import PartnerFactory, StaffFactory, login
from tests.factories.places import CHOUCHENG, CHUITAI, YIJIASHAN, YIWU

URL = "/console/alliance/projects/new/"


def _form(**extra):
    return {"title": "义驾山充电棚", "description": "", "progress": "0", "cost_yuan": "0",
            **extra}


def test_the_owner_is_picked_by_name_and_resources_are_offered(client):
    tower = PartnerFactory(name="中国铁塔义乌分公司", region_code=YIWU)
    slots = resource(tower, title="义驾山换电柜电池槽", capacity=12)
    login(client, StaffFactory(role="district_admin", region_code=YIWU))
    page = client.get(URL).content.decode()
    assert re.search(r'<select name="owner_region_code_2"[^>]*data-level="community"', page)
    assert f'<option value="{YIJIASHAN}">义驾山社区</option>' in page
    assert "区划代码" not in page
    offered = "中国铁塔义乌分公司：义驾山换电柜电池槽（剩余 12 个电池槽）"
    assert f'<option value="{slots.pk}">{offered}' in page


def test_a_project_takes_a_resource_when_it_is_created(client):
    slots = resource(PartnerFactory(region_code=YIWU), capacity=12)
    login(client, StaffFactory(role="district_admin", region_code=YIWU))
    response = client.post(URL, _form(owner_region_code_0=YIWU, owner_region_code_1=CHOUCHENG,
                                      owner_region_code_2=YIJIASHAN, resource=slots.pk,
                                      quantity="4"))
    assert response.status_code == 302
    project = Project.objects.get()
    assert project.owner.region_id == YIJIASHAN
    assert ProjectResource.objects.get(project=project, resource=slots).quantity == 4


@pytest.mark.parametrize(("extra", "field"), [
    ({"quantity": "13"}, "quantity"),  # more than the resource has
    ({"quantity": ""}, "quantity"),
    ({"owner_region_code_0": CHUITAI[:6]}, "owner_region_code"),  # outside the scope
])
def test_a_refused_part_saves_nothing(client, extra, field):
    slots = resource(PartnerFactory(region_code=YIWU), capacity=12)
    login(client, StaffFactory(role="district_admin", region_code=YIWU))
    data = _form(owner_region_code_0=YIWU, owner_region_code_1=CHOUCHENG,
                 owner_region_code_2=YIJIASHAN, resource=slots.pk, quantity="4")
    data.update(extra)
    response = client.post(URL, data)
    assert response.status_code in (200, 400, 409)
    assert "errorlist" in response.content.decode()
    assert not Project.objects.exists() and not ProjectResource.objects.exists()

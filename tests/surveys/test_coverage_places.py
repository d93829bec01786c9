"""Visit coverage names each community with its district and street: a province has many
长乐社区, and a district administrator must know which one is behind."""

from __future__ import annotations

import pytest

from nuanxin.geo.models import Region, RegionLevel
from tests.factories.people import StaffFactory, WorkerFactory, login
from tests.factories.places import CHOUCHENG, YIWU, other_street

pytestmark = pytest.mark.django_db


def _changle(code: str, street: str) -> str:
    Region.objects.get_or_create(code=code, defaults={
        "name": "长乐社区", "level": RegionLevel.COMMUNITY, "parent_id": street,
        "center_lat": 29.31, "center_lng": 120.07, "is_demo": True})
    return code


def test_two_communities_of_one_name_are_told_apart(client):
    other = other_street()
    first = _changle(CHOUCHENG + "097", CHOUCHENG)
    second = _changle(other.code + "097", other.code)
    WorkerFactory(home_region_code=first)
    WorkerFactory(home_region_code=second)
    login(client, StaffFactory(role="district_admin", region_code=YIWU))
    page = client.get("/console/surveys/visits/coverage/").content.decode()
    assert page.count("长乐社区") >= 4  # two in the table, two in the list of residents
    assert "义乌市 稠城街道" in page and f"义乌市 {other.name}" in page

    drill = client.get("/console/surveys/visits/coverage/", {"community": second})
    assert f"长乐社区（义乌市 {other.name}）" in drill.content.decode()

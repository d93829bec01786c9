"""Visit coverage names each community with its district and street: a province has many
长乐社区, and a district administrator must know which one is behind."""

from __future__ import annotations

import pytest

from nuanxin.geo.models import Region, RegionLevel
from tests.surveys.helpers import CHOUCHENG, YIWU, console_client, make_staff, make_worker

pytestmark = pytest.mark.django_db


def _changle(code: str, street: str) -> str:
    Region.objects.get_or_create(code=code, defaults={
        "name": "长乐社区", "level": RegionLevel.COMMUNITY, "parent_id": street,
        "center_lat": 29.31, "center_lng": 120.07, "is_demo": True})
    return code


def test_two_communities_of_one_name_are_told_apart(client):
    other_street, _new = Region.objects.get_or_create(code=YIWU + "998", defaults={
        "name": "测试街道", "level": RegionLevel.STREET, "parent_id": YIWU, "is_demo": True})
    first = _changle(CHOUCHENG + "097", CHOUCHENG)
    second = _changle(other_street.code + "097", other_street.code)
    make_worker(home=first)
    make_worker(home=second)
    console_client(client, make_staff("district_admin", YIWU))
    page = client.get("/console/surveys/visits/coverage/").content.decode()
    assert page.count("长乐社区") >= 4  # two in the table, two in the list of residents
    assert "义乌市 稠城街道" in page and f"义乌市 {other_street.name}" in page

    drill = client.get("/console/surveys/visits/coverage/", {"community": second})
    assert f"长乐社区（义乌市 {other_street.name}）" in drill.content.decode()

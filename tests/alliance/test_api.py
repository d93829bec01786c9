"""The alliance's JSON API: scoped, paginated lists; matches; projects; routings; and every
bad input answered as JSON with a stable code."""

from __future__ import annotations

import pytest

from nuanxin.accounts.models import PartnerKind
from nuanxin.alliance.services import projects as project_services
from nuanxin.alliance.services.projects import ProjectInput
from tests.alliance.helpers import resource
from tests.factories.needs import raise_need
from tests.factories.people import (
    PartnerFactory,
    PartnerUserFactory,
    StaffFactory,
    WorkerFactory,
    login,
)
from tests.factories.places import CHUITAI, OUHAI, YIJIASHAN, YIJIASHAN_POINT, YIWU

pytestmark = pytest.mark.django_db


@pytest.fixture
def secretary_api(client):
    return login(client, StaffFactory(region_code=YIJIASHAN))


@pytest.fixture
def offers():
    tower = PartnerFactory(name="中国铁塔义乌分公司", kind=PartnerKind.OPERATOR, region_code=YIWU)
    here = [resource(tower, title=f"换电柜{i}", lat=YIJIASHAN_POINT[0] + i * 0.001,
                     lng=YIJIASHAN_POINT[1]) for i in range(5)]
    far = resource(PartnerFactory(name="温州单位", region_code=OUHAI), region_code=CHUITAI,
                   title="吹台夜校", category="skills")
    return {"tower": tower, "here": here, "far": far}


def test_resources_are_scoped_and_paginated(secretary_api, offers):
    body = secretary_api.get("/api/v1/alliance/resources?page_size=2").json()
    assert body["count"] == 5 and len(body["results"]) == 2 and body["page"] == 1
    first = body["results"][0]
    assert first["partner"]["name"] == "中国铁塔义乌分公司"
    assert (first["capacity"], first["remaining"], first["capacity_unit"]) == (12, 12, "个电池槽")
    titles = {r["title"] for r in secretary_api.get(
        "/api/v1/alliance/resources?page_size=100").json()["results"]}
    assert "吹台夜校" not in titles


def test_resource_query_budget(secretary_api, offers, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        assert secretary_api.get("/api/v1/alliance/resources?page_size=100").status_code == 200


def test_matches_for_a_need(secretary_api, offers):
    need = raise_need(point=YIJIASHAN_POINT, accept=True)
    body = secretary_api.get(f"/api/v1/alliance/needs/{need.pk}/matches").json()
    assert [r["resource"]["title"] for r in body["results"]] == [f"换电柜{i}" for i in range(5)]
    assert body["results"][0]["reasons"] == ["同类别", "同社区", "0 米", "剩余 12 个电池槽"]
    assert body["results"][1]["distance_m"] == 111


def test_projects_list_and_detail(secretary_api, offers):
    secretary = StaffFactory(region_code=YIJIASHAN)
    need = raise_need(accept=True)
    project = project_services.project_create(actor=secretary, data=ProjectInput(
        title="义驾山换电柜布设", cost_fen=1_200_00), need_ids=(need.pk,))
    project_services.project_allocate(actor=secretary, project_id=project.pk,
                                      resource_id=offers["here"][0].pk, quantity=8)
    listing = secretary_api.get("/api/v1/alliance/projects").json()
    assert listing["count"] == 1
    assert listing["results"][0]["partners"] == ["中国铁塔义乌分公司"]
    detail = secretary_api.get(f"/api/v1/alliance/projects/{project.pk}").json()
    assert detail["cost_fen"] == 120000 and detail["needs"][0]["id"] == need.pk
    assert detail["resources"][0]["quantity"] == 8


def test_routing_through_the_api(secretary_api, offers):
    need = raise_need(accept=True)
    response = secretary_api.post("/api/v1/alliance/routings",
                                  {"need_id": need.pk, "partner_id": offers["tower"].pk,
                                   "description": "取餐点没有换电柜"},
                                  content_type="application/json")
    assert response.status_code == 201
    assert response.json()["description"] == "取餐点没有换电柜"
    again = secretary_api.post("/api/v1/alliance/routings",
                               {"need_id": need.pk, "partner_id": offers["tower"].pk},
                               content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "already_routed"


@pytest.mark.parametrize(("method", "url", "body", "status", "code"), [
    ("get", "/api/v1/alliance/resources?page=0", None, 400, "invalid_input"),
    ("get", "/api/v1/alliance/resources?page_size=101", None, 400, "invalid_input"),
    ("get", "/api/v1/alliance/resources?page=abc", None, 400, "invalid_input"),
    ("get", "/api/v1/alliance/resources?category=pets", None, 400, "invalid_category"),
    ("get", "/api/v1/alliance/projects?status=done", None, 400, "invalid_status"),
    ("get", "/api/v1/alliance/routings?status=x", None, 400, "invalid_status"),
    ("get", "/api/v1/alliance/needs/0/matches", None, 400, "invalid_input"),
    ("get", "/api/v1/alliance/needs/99999999/matches", None, 404, "need_not_found"),
    ("get", "/api/v1/alliance/projects/99999999", None, 404, "project_not_found"),
    ("post", "/api/v1/alliance/routings", {"need_id": "x"}, 400, "invalid_input"),
    ("post", "/api/v1/alliance/routings", "not json", 400, "bad_request"),
    ("post", "/api/v1/alliance/routings/1/answer", {"action": "maybe"}, 400, "invalid_input"),
])
def test_bad_input_is_json_with_a_code(secretary_api, method, url, body, status, code):
    if method == "get":
        response = secretary_api.get(url)
    else:
        response = secretary_api.post(url, body, content_type="application/json")
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == code
    assert response.json()["message"] and response.json()["message_en"]


def test_who_may_call(client, offers):
    assert client.get("/api/v1/alliance/resources").status_code == 401
    client.force_login(WorkerFactory())
    denied = client.get("/api/v1/alliance/resources")
    assert denied.status_code == 403 and denied.json()["code"] == "not_allowed"
    client.force_login(PartnerUserFactory(partner=offers["tower"]))
    own = client.get("/api/v1/alliance/resources").json()
    assert own["count"] == 5
    need = raise_need(accept=True)
    staff_only = client.get(f"/api/v1/alliance/needs/{need.pk}/matches")
    assert staff_only.status_code == 403


def test_administrators_need_their_second_factor(client, offers):
    admin = StaffFactory(role="district_admin", region_code=YIWU)
    client.force_login(admin)  # password only: the TOTP step not done in this session
    response = client.get("/api/v1/alliance/resources")
    assert response.status_code == 403 and response.json()["code"] == "totp_required"
    login(client, admin)
    assert client.get("/api/v1/alliance/resources").status_code == 200

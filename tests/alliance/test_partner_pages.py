"""Partner users' pages: sign in, see only the needs routed to them (without anyone's
personal data), answer, and manage their own offers."""

from __future__ import annotations

import re

import pytest

from nuanxin.accounts.models import PartnerKind
from nuanxin.accounts.phones import mask_phone
from nuanxin.alliance.models import NeedRouting, Resource, RoutingStatus
from nuanxin.alliance.services import routings as routing_services
from tests.alliance.helpers import resource, today
from tests.factories.needs import raise_need
from tests.factories.people import (
    PartnerFactory,
    PartnerUserFactory,
    StaffFactory,
    WorkerFactory,
    login,
)
from tests.factories.places import YIJIASHAN, YIWU

pytestmark = pytest.mark.django_db

RAISER_PHONE = "13912345678"
RAISER_NAME = "丁建国"


@pytest.fixture
def tower():
    return PartnerFactory(name="中国铁塔义乌分公司", kind=PartnerKind.OPERATOR, region_code=YIWU)


@pytest.fixture
def engineer(tower):
    return PartnerUserFactory(partner=tower, username="tower.test")


@pytest.fixture
def routed(tower):
    """Two needs routed to the tower, one to another partner; the raiser has a name and a
    phone number that must never reach a partner."""
    secretary = StaffFactory(region_code=YIJIASHAN)
    raiser = WorkerFactory(phone=RAISER_PHONE, display_name=RAISER_NAME)
    mine = [raise_need(by=raiser, title=f"取餐点缺换电柜 {i}", accept=True) for i in range(2)]
    other = raise_need(by=raiser, title="别家的需求", accept=True)
    routings = [routing_services.routing_create(actor=secretary, need_id=n.pk,
                                                partner_id=tower.pk,
                                                description="取餐点附近没有换电柜")
                for n in mine]
    routing_services.routing_create(actor=secretary, need_id=other.pk,
                                    partner_id=PartnerFactory(name="别的单位", region_code=YIWU).pk)
    return routings


def test_sign_in_page(client, engineer):
    assert client.get("/partner/").status_code == 302
    response = client.post("/partner/login/", {"username": "tower.test",
                                               "password": "partner-long-password",
                                               "next": "/partner/"})
    assert response.status_code == 302 and response["Location"] == "/partner/"
    assert client.get("/partner/").status_code == 200


def test_sign_in_refuses_wrong_passwords_and_other_kinds(client, engineer):
    response = client.post("/partner/login/", {"username": "tower.test", "password": "nope"})
    assert response.status_code == 400 and "用户名或密码不正确" in response.content.decode()
    secretary = StaffFactory()
    secretary.set_password("staff-password-long")
    secretary.save()
    response = client.post("/partner/login/", {"username": secretary.username,
                                               "password": "staff-password-long"})
    assert response.status_code == 400 and "这不是联盟单位账号" in response.content.decode()


def test_sign_in_ignores_foreign_next(client, engineer):
    response = client.post("/partner/login/", {"username": "tower.test",
                                               "password": "partner-long-password",
                                               "next": "https://evil.example/"})
    assert response["Location"] == "/partner/"


def test_staff_and_workers_are_sent_to_the_partner_sign_in(client):
    login(client, StaffFactory())
    response = client.get("/partner/")
    assert response.status_code == 302 and response["Location"].startswith("/partner/login/")


def test_partners_see_only_needs_routed_to_them_without_personal_data(client, engineer,
                                                                      routed):
    client.force_login(engineer)
    html = client.get("/partner/").content.decode()
    assert "取餐点缺换电柜 0" in html and "取餐点缺换电柜 1" in html
    assert "别家的需求" not in html
    detail = client.get(f"/partner/routings/{routed[0].pk}/").content.decode()
    for page in (html, detail):
        assert RAISER_PHONE not in page and RAISER_NAME not in page
        assert mask_phone(RAISER_PHONE) not in page  # not even the masked form
    assert "取餐点附近没有换电柜" in detail
    foreign = NeedRouting.objects.exclude(partner__name="中国铁塔义乌分公司").get()
    assert client.get(f"/partner/routings/{foreign.pk}/").status_code == 404


def test_partner_answers_from_the_phone(client, engineer, routed):
    client.force_login(engineer)
    url = f"/partner/routings/{routed[0].pk}/"
    response = client.post(url, {"action": "propose", "text": ""})
    assert response.status_code == 200 and "请写明您的方案" in response.content.decode()
    response = client.post(url, {"action": "propose", "text": "先在取餐点放 2 组试点"})
    assert response.status_code == 302
    routing = NeedRouting.objects.get(pk=routed[0].pk)
    assert (routing.status, routing.proposal) == (RoutingStatus.PROPOSED, "先在取餐点放 2 组试点")
    html = client.get(url).content.decode()
    assert "提交答复" not in html and "先在取餐点放 2 组试点" in html


def test_partner_manages_own_offers(client, engineer, tower):
    client.force_login(engineer)
    form = {"title": "换电柜电池槽", "category": "charging", "capacity": "96",
            "capacity_unit": "个电池槽", "region_code": YIJIASHAN, "address": "党群服务中心门口",
            "available_from": today().isoformat(), "is_active": "on"}
    assert client.post("/partner/resources/new/", form).status_code == 302
    offer = Resource.objects.get(partner=tower)
    assert (offer.capacity, offer.created_by) == (96, engineer)
    response = client.post(f"/partner/resources/{offer.pk}/edit/", {**form, "capacity": "0"})
    assert response.status_code == 200 and "容量" in response.content.decode()
    other = resource(PartnerFactory(name="别家", region_code=YIWU))
    assert client.get(f"/partner/resources/{other.pk}/edit/").status_code == 404


def test_partner_api_sees_only_own_routings(client, engineer, routed):
    client.force_login(engineer)
    body = client.get("/api/v1/alliance/routings").json()
    assert body["count"] == 2
    assert {r["title"] for r in body["results"]} == {"取餐点缺换电柜 0", "取餐点缺换电柜 1"}
    text = str(body)
    assert RAISER_PHONE not in text and RAISER_NAME not in text and "raiser" not in text
    answer = client.post(f"/api/v1/alliance/routings/{routed[1].pk}/answer",
                         {"action": "decline", "text": "电力容量不足"},
                         content_type="application/json")
    assert answer.status_code == 200 and answer.json()["status"] == "declined"


def test_the_routings_console_page_tells_who_routed_and_how_the_partner_answered(
        client, engineer, routed):
    client.force_login(engineer)
    client.post(f"/partner/routings/{routed[0].pk}/",
                {"action": "propose", "text": "先在取餐点放 2 组试点"})
    secretary = routed[0].routed_by
    login(client, secretary)
    html = client.get(f"/console/alliance/routings/{routed[0].pk}/").content.decode()
    block = html[html.index("data-timeline"):]
    rows = [" ".join(re.sub(r"<[^>]+>", " ", row).split())
            for row in re.findall(r"<li[^>]*>(.*?)</li>", block[:block.index("</ol>")], re.S)]
    assert len(rows) == 2
    assert rows[0].endswith(f"{secretary} 派单")
    assert f"{engineer} 对方提出方案 待答复 → 提出方案 先在取餐点放 2 组试点" in rows[1]
    assert RAISER_NAME not in html and RAISER_PHONE not in html

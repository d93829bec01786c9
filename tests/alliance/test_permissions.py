"""Who may see and change what in the alliance console: a parametrized grid of
(person, page, place) → status. Outside one's region things look absent (404); people
without a staff role are sent to the staff sign-in; station keepers look but do not change.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser

from nuanxin.accounts.models import PartnerKind
from nuanxin.alliance.models import Project, ProjectStatus
from nuanxin.alliance.services import partners as partner_services
from nuanxin.alliance.services import projects as project_services
from nuanxin.alliance.services import routings as routing_services
from nuanxin.alliance.services.projects import ProjectInput
from tests.alliance.helpers import resource, today
from tests.factories.needs import raise_need
from tests.factories.people import (
    PartnerFactory,
    PartnerUserFactory,
    StaffFactory,
    SuperuserFactory,
    WorkerFactory,
    login,
)
from tests.factories.places import CHOUCHENG, CHUITAI, JINHUA, OUHAI, YIJIASHAN, YIWU, ZHEJIANG

pytestmark = pytest.mark.django_db

PEOPLE = {
    "station_keeper@义驾山": ("station_keeper", YIJIASHAN),
    "community_staff@义驾山": ("community_staff", YIJIASHAN),
    "community_staff@吹台": ("community_staff", CHUITAI),
    "street_admin@稠城": ("street_admin", CHOUCHENG),
    "district_admin@义乌": ("district_admin", YIWU),
    "city_admin@金华": ("city_admin", JINHUA),
    "province_admin@浙江": ("province_admin", ZHEJIANG),
    "superuser": "superuser",
    "worker": "worker",
    "partner": "partner",
    "anonymous": "anonymous",
}
# Who sees (and, except keepers, changes) the 义驾山 side / the 吹台 side.
SEES = {
    "义驾山": {"station_keeper@义驾山", "community_staff@义驾山", "street_admin@稠城",
             "district_admin@义乌", "city_admin@金华", "province_admin@浙江", "superuser"},
    "吹台": {"community_staff@吹台", "province_admin@浙江", "superuser"},
}
NOT_STAFF = {"worker", "partner", "anonymous"}


def person(label, client):
    who = PEOPLE[label]
    if who == "anonymous":
        return AnonymousUser(), client
    if who == "superuser":
        user = SuperuserFactory()
    elif who == "worker":
        user = WorkerFactory()
    elif who == "partner":
        user = PartnerUserFactory(partner=PartnerFactory(region_code=YIJIASHAN))
    else:
        role, region_code = who
        user = StaffFactory(role=role, region_code=region_code)
    return user, login(client, user)


@pytest.fixture
def world():
    """One of everything in each of the two places."""
    root = SuperuserFactory()
    places = {}
    for name, code, partner_code in (("义驾山", YIJIASHAN, YIWU), ("吹台", CHUITAI, OUHAI)):
        p = PartnerFactory(name=f"{name}单位", kind=PartnerKind.COMPANY, region_code=partner_code)
        offer = resource(p, region_code=code)
        need = raise_need(region_code=code, accept=True)
        project = project_services.project_create(
            actor=root, data=ProjectInput(title=f"{name}项目", owner_region_code=code))
        routing = routing_services.routing_create(actor=root, need_id=need.pk,
                                                  partner_id=p.pk)
        partner_services.agreement_create(actor=root, partner_id=p.pk, title="共建",
                                          starts_on=today(), ends_on=today() + timedelta(99),
                                          org_unit_id=project.owner_id)
        places[name] = {"partner": p, "resource": offer, "need": need, "project": project,
                        "routing": routing}
    return places


PAGES = {
    "partner": lambda t: f"/console/alliance/partners/{t['partner'].pk}/",
    "resource": lambda t: f"/console/alliance/resources/{t['resource'].pk}/",
    "match": lambda t: f"/console/alliance/needs/{t['need'].pk}/match/",
    "route_form": lambda t: f"/console/alliance/needs/{t['need'].pk}/route/"
                            f"?partner={t['partner'].pk}",
    "routing": lambda t: f"/console/alliance/routings/{t['routing'].pk}/",
    "project": lambda t: f"/console/alliance/projects/{t['project'].pk}/",
    "project_close_form": lambda t: f"/console/alliance/projects/{t['project'].pk}/close/",
}


@pytest.mark.parametrize("place", ["义驾山", "吹台"])
@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize("label", list(PEOPLE))
def test_console_pages_grid(client, world, label, page, place):
    _user, client = person(label, client)
    response = client.get(PAGES[page](world[place]))
    if label in NOT_STAFF:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/staff/login/")
    elif label in SEES[place]:
        assert response.status_code == 200, response.content[:300]
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("place", ["义驾山", "吹台"])
@pytest.mark.parametrize("label", list(PEOPLE))
def test_starting_a_project_grid(client, world, label, place):
    _user, client = person(label, client)
    project = world[place]["project"]
    response = client.post(f"/console/alliance/projects/{project.pk}/start/")
    project.refresh_from_db()
    if label in NOT_STAFF:
        assert response.status_code == 302 and project.status == ProjectStatus.PLANNED
    elif label not in SEES[place]:
        assert response.status_code == 404 and project.status == ProjectStatus.PLANNED
    elif label.startswith("station_keeper"):
        assert response.status_code == 403 and project.status == ProjectStatus.PLANNED
    else:
        assert response.status_code == 302
        assert project.status == ProjectStatus.ACTIVE


@pytest.mark.parametrize("label", ["community_staff@义驾山", "community_staff@吹台",
                                   "district_admin@义乌", "station_keeper@义驾山"])
def test_lists_show_only_what_is_in_scope(client, world, label):
    _user, client = person(label, client)
    seen = {place for place in ("义驾山", "吹台") if label in SEES[place]}
    for url, key in (("/console/alliance/projects/", "project"),
                     ("/console/alliance/routings/", "routing"),
                     ("/console/alliance/resources/", "resource")):
        html = client.get(url).content.decode()
        for place in ("义驾山", "吹台"):
            name = {"project": world[place]["project"].title,
                    "routing": world[place]["routing"].title,
                    "resource": f"/console/alliance/resources/{world[place]['resource'].pk}/"
                    }[key]
            assert (name in html) == (place in seen), (url, place)


def test_project_list_query_budget(client, world, django_assert_max_num_queries):
    root = SuperuserFactory()
    for i in range(15):
        project = project_services.project_create(
            actor=root, data=ProjectInput(title=f"项目{i}", owner_region_code=YIJIASHAN))
        if i < 12:
            project_services.project_allocate(actor=root, project_id=project.pk,
                                              resource_id=world["义驾山"]["resource"].pk,
                                              quantity=1)
    login(client, StaffFactory(region_code=YIJIASHAN))
    with django_assert_max_num_queries(15):
        assert client.get("/console/alliance/projects/").status_code == 200
    assert Project.objects.count() >= 16


def test_partner_list_query_budget(client, world, django_assert_max_num_queries):
    for i in range(20):
        resource(PartnerFactory(name=f"批量单位{i}", region_code=YIJIASHAN), region_code=YIJIASHAN)
    login(client, StaffFactory(role="district_admin", region_code=YIWU))
    with django_assert_max_num_queries(15):
        response = client.get("/console/alliance/")
    assert response.status_code == 200 and "批量单位19" in response.content.decode()


def test_the_pager_keeps_the_filters(client):
    for i in range(55):
        PartnerFactory(name=f"筛选单位{i:02d}", kind=PartnerKind.MERCHANT, region_code=YIJIASHAN)
    login(client, StaffFactory(region_code=YIJIASHAN))
    html = client.get("/console/alliance/?q=筛选&kind=merchant").content.decode()
    assert "?q=%E7%AD%9B%E9%80%89&amp;kind=merchant&amp;page=2" in html

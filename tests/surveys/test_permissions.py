"""Who may open which survey and visit page: the scope grid.

A survey or visit outside a staff member's region answers 404, exactly as if it did not
exist; station keepers (who do not run surveys) get 403; anyone not logged in as staff is
sent to the staff login."""

from __future__ import annotations

import pytest
from django.test import Client

from nuanxin.surveys import services
from nuanxin.surveys.services import VisitInput
from tests.factories.people import StaffFactory, SuperuserFactory, WorkerFactory, login
from tests.factories.places import CHOUCHENG, CHUITAI, OUHAI, YIJIASHAN, YIWU
from tests.surveys.helpers import answer, charging_survey, opt

pytestmark = pytest.mark.django_db

# (who, region) -> expected status for pages about a survey/visit in 义驾山
VIEWERS = [
    ("community_staff", YIJIASHAN, 200),
    ("street_admin", CHOUCHENG, 200),
    ("district_admin", YIWU, 200),
    ("superuser", "", 200),
    ("community_staff", CHUITAI, 404),  # another community's staff
    ("district_admin", OUHAI, 404),  # another district
    ("station_keeper", YIJIASHAN, 403),
    ("worker", YIJIASHAN, 302),
    ("anonymous", "", 302),
]


@pytest.fixture
def world():
    owner = StaffFactory()
    survey, q = charging_survey(owner)
    for _i in range(5):
        services.response_submit(worker=WorkerFactory(), survey_id=survey.pk, answers=answer(q))
    worker = WorkerFactory()
    visit = services.visit_record(actor=owner, data=VisitInput(
        visited_at=survey.opens_at, worker_id=worker.pk, difficulty_text="充电难"))
    return {"survey": survey, "q": q, "visit": visit, "owner": owner}


def _client(who: str, region: str) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    if who == "anonymous":
        return client
    if who == "worker":
        client.force_login(WorkerFactory(home_region_code=region))
        return client
    user = SuperuserFactory() if who == "superuser" else StaffFactory(role=who, region_code=region)
    return login(client, user)


def _pages(world) -> list[str]:
    s, q, v = world["survey"], world["q"], world["visit"]
    base = f"/console/surveys/{s.pk}"
    return [f"{base}/", f"{base}/edit/", f"{base}/preview/", f"{base}/qr/", f"{base}/qr.png",
            f"{base}/qr.svg", f"{base}/results/", f"{base}/results.xlsx",
            f"{base}/results/texts/{q['text'].pk}/", f"/console/surveys/visits/{v.pk}/"]


@pytest.mark.parametrize(("who", "region", "expected"), VIEWERS)
def test_page_grid(world, who, region, expected):
    client = _client(who, region)
    for url in _pages(world):
        response = client.get(url)
        assert response.status_code == expected, (who, region, url)
        if expected == 302:
            assert "/accounts/staff/login/" in response["Location"]


@pytest.mark.parametrize(("who", "region", "expected"), VIEWERS)
def test_actions_grid(world, who, region, expected):
    client = _client(who, region)
    s, q, v = world["survey"], world["q"], world["visit"]
    answer_id = v.answers.get(question="difficulty").pk
    posts = [f"/console/surveys/{s.pk}/close/",
             f"/console/surveys/{s.pk}/options/{opt(q['pain'], 1)}/raise-need/",
             f"/console/surveys/visits/{v.pk}/answers/{answer_id}/to-need/"]
    for url in posts:
        response = client.post(url, {f"a{answer_id}-title": "x",
                                     f"a{answer_id}-category": "charging",
                                     f"a{answer_id}-urgency": "1"})
        # an allowed action redirects back to its page; refusals are 404 / 403 / login
        assert response.status_code == (302 if expected == 200 else expected), (who, url)
    s.refresh_from_db()
    assert (s.status == "closed") == (expected == 200)


@pytest.mark.parametrize(("who", "region", "visible"), [
    ("community_staff", YIJIASHAN, True), ("street_admin", CHOUCHENG, True),
    ("community_staff", CHUITAI, False),
])
def test_lists_show_only_what_is_in_scope(world, who, region, visible):
    client = _client(who, region)
    html = client.get("/console/surveys/").content.decode()
    assert (world["survey"].title in html) == visible
    html = client.get("/console/surveys/visits/").content.decode()
    assert (f"/console/surveys/visits/{world['visit'].pk}/" in html) == visible


API_VIEWERS = [
    ("community_staff", YIJIASHAN, 200),
    ("district_admin", YIWU, 200),
    ("community_staff", CHUITAI, 404),
    ("station_keeper", YIJIASHAN, 403),
    ("anonymous", "", 401),
]


@pytest.mark.parametrize(("who", "region", "expected"), API_VIEWERS)
def test_api_grid(world, who, region, expected):
    client = _client(who, region)
    s, q = world["survey"], world["q"]
    for url in [f"/api/v1/surveys/{s.pk}/results",
                f"/api/v1/surveys/{s.pk}/results/crosstab?row={q['pain'].pk}&col={q['rating'].pk}",
                f"/api/v1/surveys/{s.pk}/questions/{q['text'].pk}/texts"]:
        response = client.get(url)
        assert response.status_code == expected, (who, url, response.content[:200])
        if expected != 200:
            assert response.json()["code"]


def test_api_refuses_admins_without_their_second_factor(world):
    client = Client(HTTP_HOST="127.0.0.1")
    # no TOTP flag in the session
    client.force_login(StaffFactory(role="district_admin", region_code=YIWU))
    response = client.get(f"/api/v1/surveys/{world['survey'].pk}/results")
    assert response.status_code == 403
    assert response.json()["code"] == "totp_required"
    page = client.get(f"/console/surveys/{world['survey'].pk}/results/")
    assert page.status_code == 302 and "/accounts/staff/totp/" in page["Location"]

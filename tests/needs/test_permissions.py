"""Who may see and act on which need, through the API and the console: a parametrized grid.

A need outside a staff member's region looks as if it did not exist (404); roles that may
not manage the list are refused (403); people who are not logged in are asked to (401 from
the API, a redirect to the login page from the console)."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import AnonymousUser

from tests.factories.needs import NeedFactory
from tests.factories.people import StaffFactory, WorkerFactory, login
from tests.factories.places import CHOUCHENG, CHUITAI, YIJIASHAN, YIWU

pytestmark = pytest.mark.django_db

PEOPLE = {
    "community_staff@义驾山": ("community_staff", YIJIASHAN),
    "community_staff@吹台": ("community_staff", CHUITAI),
    "street_admin@稠城": ("street_admin", CHOUCHENG),
    "district_admin@义乌": ("district_admin", YIWU),
    "station_keeper@义驾山": ("station_keeper", YIJIASHAN),
    "worker": "worker",
    "anonymous": "anonymous",
}

# The need sits in 义驾山社区. person → {operation: expected API status}
EXPECTED = {
    "community_staff@义驾山": {"list": 200, "detail": 200, "accept": 200, "merge": 200},
    "community_staff@吹台": {"list": 200, "detail": 404, "accept": 404, "merge": 404},
    "street_admin@稠城": {"list": 200, "detail": 200, "accept": 200, "merge": 200},
    "district_admin@义乌": {"list": 200, "detail": 200, "accept": 200, "merge": 200},
    "station_keeper@义驾山": {"list": 200, "detail": 200, "accept": 403, "merge": 403},
    "worker": {"list": 200, "detail": 404, "accept": 403, "merge": 403},
    "anonymous": {"list": 401, "detail": 401, "accept": 401, "merge": 401},
}
# Whether the need appears in the person's list.
SEES_IN_LIST = {"community_staff@义驾山", "street_admin@稠城", "district_admin@义乌",
                "station_keeper@义驾山"}

GRID = [(who, op) for who in PEOPLE for op in ("list", "detail", "accept", "merge")]


def person(label):
    who = PEOPLE[label]
    if who == "anonymous":
        return AnonymousUser()
    if who == "worker":
        return WorkerFactory()
    role, region_code = who
    return StaffFactory(role=role, region_code=region_code)


@pytest.mark.parametrize("who,operation", GRID)
def test_api_grid(client, who, operation):
    need = NeedFactory(raisers=[WorkerFactory()])
    duplicate = NeedFactory(raisers=[WorkerFactory()])
    login(client, person(who))
    base = "/api/v1/needs"
    if operation == "list":
        response = client.get(base, {"page_size": 100})
    elif operation == "detail":
        response = client.get(f"{base}/{need.pk}")
    elif operation == "accept":
        response = client.post(f"{base}/{need.pk}/accept", "{}",
                               content_type="application/json")
    else:
        response = client.post(f"{base}/merge", json.dumps(
            {"target_id": need.pk, "source_ids": [duplicate.pk]}),
            content_type="application/json")
    expected = EXPECTED[who][operation]
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response.json()["code"]
    if operation == "list" and expected == 200:
        ids = {r["id"] for r in response.json()["results"]}
        assert (need.pk in ids) is (who in SEES_IN_LIST)
    need.refresh_from_db()
    changed = {"accept": "accepted", "merge": "submitted"}.get(operation)
    if operation in ("accept", "merge"):
        duplicate.refresh_from_db()
        moved = need.status == changed if operation == "accept" else duplicate.status == "merged"
        assert moved is (expected == 200)


# The console pages: staff pages send others to the staff login; out of scope is 404.
CONSOLE = {
    "community_staff@义驾山": {"list": 200, "detail": 200, "accept": 302, "merge": 302},
    "community_staff@吹台": {"list": 200, "detail": 404, "accept": 404, "merge": 404},
    "street_admin@稠城": {"list": 200, "detail": 200, "accept": 302, "merge": 302},
    "district_admin@义乌": {"list": 200, "detail": 200, "accept": 302, "merge": 302},
    "station_keeper@义驾山": {"list": 200, "detail": 200, "accept": 403, "merge": 403},
    "worker": {"list": "login", "detail": "login", "accept": "login", "merge": "login"},
    "anonymous": {"list": "login", "detail": "login", "accept": "login", "merge": "login"},
}


@pytest.mark.parametrize("who,operation", GRID)
def test_console_grid(client, who, operation):
    need = NeedFactory(title="义驾山缺少换电柜", raisers=[WorkerFactory()])
    duplicate = NeedFactory(title="义驾山要换电柜", raisers=[WorkerFactory()])
    login(client, person(who))
    if operation == "list":
        response = client.get("/console/needs/")
    elif operation == "detail":
        response = client.get(f"/console/needs/{need.pk}/")
    elif operation == "accept":
        response = client.post(f"/console/needs/{need.pk}/accept/", {"text": ""})
    else:
        response = client.post("/console/needs/merge/",
                               {"target": need.pk, "source": [duplicate.pk]})
    expected = CONSOLE[who][operation]
    if expected == "login":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/staff/login/")
        return
    assert response.status_code == expected
    if operation == "list":
        assert ("义驾山缺少换电柜" in response.content.decode()) is (who in SEES_IN_LIST)
    if expected == 302:
        assert response["Location"] == f"/console/needs/{need.pk}/"
        need.refresh_from_db()
        duplicate.refresh_from_db()
        if operation == "accept":
            assert need.status == "accepted"
        else:
            assert duplicate.status == "merged"

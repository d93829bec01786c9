"""The JSON API: a worker reads and answers a survey; staff read results. Bad input is a
400 JSON body with a stable code, never a stack trace."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from nuanxin.surveys import services
from nuanxin.surveys.models import Response, Survey
from tests.factories.people import WorkerFactory, login
from tests.factories.places import CHUITAI
from tests.surveys.helpers import answer, charging_survey, opt

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(staff):
    return charging_survey(staff)


def _as(user) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


def _post(client, survey_id, body):
    return client.post(f"/api/v1/surveys/{survey_id}/responses", json.dumps(body),
                       content_type="application/json")


def test_worker_reads_and_answers(survey):
    s, q = survey
    worker = WorkerFactory()
    client = _as(worker)
    mine = client.get("/api/v1/surveys/mine").json()["results"]
    assert [(m["id"], m["answered"]) for m in mine] == [(s.pk, False)]
    body = client.get(f"/api/v1/surveys/{s.pk}").json()
    assert [x["kind"] for x in body["questions"]] == ["multiple", "multiple", "rating",
                                                      "single", "text"]
    detail = body["questions"][1]
    assert detail["show_if"] == {"question": q["pain"].pk, "options": [opt(q["pain"], 1)]}
    assert body["answered"] is False and body["anonymous"] is False
    response = _post(client, s.pk, {"answers": [
        {"question": q["pain"].pk, "options": [opt(q["pain"], 1)], "other": "下雨"},
        {"question": q["detail"].pk, "options": [opt(q["detail"], 2)]},
        {"question": q["rating"].pk, "value": 4},
        {"question": q["cabinet"].pk, "options": [opt(q["cabinet"], 1)]},
        {"question": q["text"].pk, "text": "多装柜子"}]})
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "recorded"
    assert Response.objects.get(survey=s).answers.count() == 6
    again = _post(client, s.pk, {"answers": [{"question": q["rating"].pk, "value": 1}]})
    assert (again.status_code, again.json()["code"]) == (409, "already_answered")
    assert client.get(f"/api/v1/surveys/{s.pk}").json()["answered"] is True


def test_invalid_answers_name_each_question(survey):
    s, q = survey
    response = _post(_as(WorkerFactory()), s.pk, {"answers": [
        {"question": q["pain"].pk, "options": [opt(q["pain"], 1)]},
        {"question": q["rating"].pk, "value": 9}]})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "answers_invalid" and body["message_en"]
    assert {(e["question"], e["code"]) for e in body["errors"]} == {
        (q["detail"].pk, "answer_required"), (q["rating"].pk, "invalid_rating"),
        (q["cabinet"].pk, "answer_required")}


@pytest.mark.parametrize("body", [
    {},
    {"answers": "all of them"},
    {"answers": [{"question": "one"}]},
    {"answers": [{"question": 0}]},
    {"answers": [{"question": 1, "value": "high"}]},
    {"answers": [{"question": 1, "options": [1] * 51}]},
    {"answers": [{"question": 1, "text": "长" * 4001}]},
])
def test_bad_input_is_400_json_with_a_code(survey, body):
    s, _q = survey
    response = _post(_as(WorkerFactory()), s.pk, body)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "invalid_input"


def test_not_json_and_duplicates_and_unknown_questions(survey):
    s, q = survey
    client = _as(WorkerFactory())
    response = client.post(f"/api/v1/surveys/{s.pk}/responses", "not json",
                           content_type="application/json")
    assert response.status_code == 400 and response.json()["code"]
    response = _post(client, s.pk, {"answers": [{"question": q["rating"].pk, "value": 1},
                                                {"question": q["rating"].pk, "value": 2}]})
    assert response.json()["code"] == "duplicate_question"
    response = _post(client, s.pk, {"answers": [{"question": 999_999, "value": 1}]})
    assert (response.status_code, response.json()["code"]) == (400, "unknown_question")
    response = client.get("/api/v1/surveys/abc")
    assert response.status_code == 400 and response.json()["code"] == "invalid_input"


@pytest.mark.parametrize(("setup", "status", "code"), [
    ("outside", 403, "not_in_target_group"),
    ("no_home", 403, "home_region_required"),
    ("draft", 404, "survey_not_found"),
    ("missing", 404, "survey_not_found"),
    ("not_yet", 409, "survey_not_open"),
    ("closed", 409, "survey_closed"),
    ("staff", 403, "workers_only"),
])
def test_worker_refusals(staff, setup, status, code):
    s, q = charging_survey(staff, publish=setup != "draft")
    worker = {"outside": lambda: WorkerFactory(home_region_code=CHUITAI),
              "no_home": lambda: WorkerFactory(home_region_code=None),
              "staff": lambda: staff}.get(setup, WorkerFactory)()
    if setup == "not_yet":
        Survey.objects.filter(pk=s.pk).update(opens_at=timezone.now() + timedelta(hours=1))
    if setup == "closed":
        services.survey_close(actor=staff, survey_id=s.pk)
    survey_id = 987_654 if setup == "missing" else s.pk
    client = _as(worker)
    response = _post(client, survey_id, {"answers": [{"question": q["rating"].pk, "value": 3}]})
    assert (response.status_code, response.json()["code"]) == (status, code)
    if setup != "staff":
        response = client.get(f"/api/v1/surveys/{survey_id}")
        assert (response.status_code, response.json()["code"]) == (status, code)


def test_not_logged_in_is_401(survey):
    s, _q = survey
    response = Client(HTTP_HOST="127.0.0.1").get(f"/api/v1/surveys/{s.pk}")
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")


def test_staff_results_crosstab_and_texts(survey, staff):
    s, q = survey
    for pains in [(1,), (1, 2), (3,)]:
        services.response_submit(worker=WorkerFactory(), survey_id=s.pk,
                                 answers=answer(q, pains=pains, text="建议"))
    client = login(Client(HTTP_HOST="127.0.0.1"), staff)
    body = client.get(f"/api/v1/surveys/{s.pk}/results").json()
    assert body["responses"] == 3 and body["withheld"] is False
    assert body["target_group"] == 3
    pain, detail = body["questions"][:2]
    assert [(b["label"], b["count"], b["percent"]) for b in pain["buckets"]] == [
        ("充电", 2, 66.7), ("歇脚", 1, 33.3), ("停车", 1, 33.3), ("其他（自填）", 0, 0.0)]
    assert (detail["shown"], detail["answered"], detail["conditional"]) == (2, 2, True)
    tab = client.get(f"/api/v1/surveys/{s.pk}/results/crosstab",
                     {"row": q["pain"].pk, "col": q["cabinet"].pk}).json()
    assert tab["both"] == 3
    assert tab["rows"][0]["total"] == 2 and tab["rows"][0]["cells"][0]["count"] == 2
    bad = client.get(f"/api/v1/surveys/{s.pk}/results/crosstab",
                     {"row": q["pain"].pk, "col": q["text"].pk})
    assert (bad.status_code, bad.json()["code"]) == (400, "crosstab_kind")
    bad = client.get(f"/api/v1/surveys/{s.pk}/results/crosstab", {"row": "x"})
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_input")
    texts = client.get(f"/api/v1/surveys/{s.pk}/questions/{q['text'].pk}/texts",
                       {"page_size": 2}).json()
    assert (texts["count"], len(texts["results"])) == (3, 2)
    bad = client.get(f"/api/v1/surveys/{s.pk}/questions/{q['text'].pk}/texts",
                     {"page_size": 1000})
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_input")
    listing = client.get("/api/v1/surveys", {"status": "published"}).json()
    assert listing["count"] == 1 and listing["results"][0]["responses"] == 3
    bad = client.get("/api/v1/surveys", {"status": "archived"})
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_input")

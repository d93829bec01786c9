"""The JSON API: the workflow end to end, bad input, second factor, query budgets."""

from __future__ import annotations

import json

import pytest

from nuanxin.accounts.models import Notification
from nuanxin.needs.models import Need, NeedFeedback
from tests.factories.needs import NeedFactory, raise_need
from tests.factories.people import StaffFactory, WorkerFactory, login
from tests.factories.places import CHOUCHENG, CHUITAI, YIJIASHAN, YIWU

pytestmark = pytest.mark.django_db

BASE = "/api/v1/needs"


def post(client, url, body=None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code, body
    assert body["message"] and body["message_en"]
    return body


def test_worker_raises_staff_accept_and_resolve_worker_rates(api, client):
    rider = WorkerFactory()
    rider_api = login(api, rider)
    created = post(rider_api, BASE, {"title": "小区里没有充电桩", "category": "charging",
                                     "description": "晚上回来没地方充电"})
    assert created.status_code == 201, created.content
    need = created.json()
    assert need["status"] == "submitted" and need["region"]["code"] == YIJIASHAN
    assert need["mine"] == {"raised": True, "following": True, "can_rate": False,
                            "rating": None}
    assert need["raisers"] is None  # workers never see who else raised it

    secretary = login(client, StaffFactory())
    accepted = post(secretary, f"{BASE}/{need['id']}/accept", {"text": "本周内联系铁塔公司"})
    assert accepted.status_code == 200, accepted.content
    detail = accepted.json()
    assert detail["status"] == "accepted"
    assert detail["raisers"][0]["phone_masked"] == rider.masked_phone
    assert "****" in detail["raisers"][0]["phone_masked"]
    resolved = post(secretary, f"{BASE}/{need['id']}/resolve", {"text": "已装两组换电柜"})
    assert resolved.json()["status"] == "resolved"

    mine = rider_api.get(f"{BASE}/{need['id']}").json()
    assert mine["mine"]["can_rate"] is True
    assert [h["action"] for h in mine["history"]] == [
        "needs.need.raised", "needs.need.accepted", "needs.need.resolved"]
    # the history shows the unit, never the staff member's name
    assert mine["history"][1]["who"] == "义驾山社区党群服务中心"
    rated = post(rider_api, f"{BASE}/{need['id']}/rating", {"score": 5, "comment": "很快"})
    assert rated.status_code == 201 and rated.json()["score"] == 5
    assert_error(post(rider_api, f"{BASE}/{need['id']}/rating", {"score": 4}), 409,
                 "already_rated")
    assert Notification.objects.filter(user=rider).count() == 2


def test_me_too_and_merge_through_the_api(api, client):
    a, b, c = WorkerFactory(), WorkerFactory(), WorkerFactory()
    first = raise_need(a, title="义驾山缺少换电柜")
    second = raise_need(b, title="义驾山需要换电柜")
    joined = post(login(api, c), f"{BASE}/{first.pk}/me-too")
    assert joined.status_code == 200 and joined.json()["raised_count"] == 2
    secretary = login(client, StaffFactory())
    similar = secretary.get(f"{BASE}/{first.pk}/similar").json()
    assert [row["need"]["id"] for row in similar] == [second.pk]
    assert similar[0]["same_region"] is True
    merged = post(secretary, f"{BASE}/merge", {"target_id": first.pk,
                                              "source_ids": [second.pk]})
    assert merged.status_code == 200, merged.content
    assert merged.json()["raised_count"] == 3
    assert post(login(api, b), f"{BASE}/{second.pk}/me-too").json()["id"] == first.pk


def test_list_filters_and_pages(client):
    for i in range(25):
        NeedFactory(urgency=1 + i % 3)
    NeedFactory(category="childcare", title="孩子放学没人接")
    secretary = login(client, StaffFactory())
    page = client.get(BASE, {"page_size": 10, "page": 2}).json()
    assert page["count"] == 26 and page["page"] == 2 and len(page["results"]) == 10
    first = secretary.get(BASE, {"page_size": 100}).json()["results"]
    urgencies = [r["urgency"] for r in first]
    assert urgencies == sorted(urgencies, reverse=True)
    only = secretary.get(BASE, {"category": "childcare"}).json()
    assert [r["title"] for r in only["results"]] == ["孩子放学没人接"]
    assert secretary.get(BASE, {"q": "放学"}).json()["count"] == 1
    assert secretary.get(BASE, {"region": YIJIASHAN}).json()["count"] == 26
    assert_error(secretary.get(BASE, {"region": CHOUCHENG}), 400, "invalid_region")
    assert secretary.get(BASE, {"overdue": "true"}).json()["count"] == 0


@pytest.mark.parametrize("params,status,code", [
    ({"category": "parking"}, 400, "invalid_category"),
    ({"status": "done"}, 400, "invalid_status"),
    ({"source": "wechat"}, 400, "invalid_source"),
    ({"sort": "random"}, 400, "invalid_sort"),
    ({"page_size": 0}, 400, "invalid_page_size"),
    ({"page_size": 101}, 400, "invalid_page_size"),
    ({"page": 0}, 400, "invalid_page"),
    ({"page": "x"}, 400, "invalid_input"),
    ({"region": CHUITAI}, 400, "invalid_region"),
    ({"region": "999999"}, 400, "invalid_region"),
    ({"q": "长" * 201}, 400, "invalid_input"),
])
def test_list_refuses_bad_filters(client, params, status, code):
    login(client, StaffFactory())
    assert_error(client.get(BASE, params), status, code)


@pytest.mark.parametrize("body,code", [
    ({"title": "缺充电桩", "category": "parking"}, "invalid_category"),
    ({"title": "", "category": "charging"}, "title_required"),
    ({"title": "   ", "category": "charging"}, "title_required"),
    ({"title": "长" * 81, "category": "charging"}, "title_too_long"),
    ({"title": "长" * 501, "category": "charging"}, "invalid_input"),
    ({"title": "缺充电桩", "category": "charging", "description": "长" * 2001},
     "description_too_long"),
    ({"title": "缺充电桩"}, "invalid_input"),
    ({"title": "缺充电桩", "category": "charging", "region": "330782001999"}, "unknown_region"),
    ({"title": "缺充电桩", "category": "charging", "lat": 91, "lng": 120}, "invalid_input"),
    ({"title": "缺充电桩", "category": "charging", "lat": 29.3}, "invalid_coordinates"),
])
def test_raise_refuses_bad_input(api, body, code):
    login(api, WorkerFactory())
    assert_error(post(api, BASE, body), 400, code)
    assert not Need.objects.exists()


def test_raise_without_a_home_community_needs_a_region(api):
    login(api, WorkerFactory(home_region_code=None))
    assert_error(post(api, BASE, {"title": "缺充电桩", "category": "charging"}), 400,
                 "region_required")


@pytest.mark.parametrize("url,status,code", [
    (f"{BASE}/0", 400, "invalid_input"),
    (f"{BASE}/99999999", 404, "need_not_found"),
    (f"{BASE}/{2**64}", 400, "invalid_input"),
    (f"{BASE}/abc", 404, "not_found"),
    (f"{BASE}/-1", 404, "not_found"),
])
def test_bad_ids(client, url, status, code):
    login(client, StaffFactory())
    assert_error(client.get(url), status, code)


@pytest.mark.parametrize("body,status,code", [
    ({"target_id": 1}, 400, "invalid_input"),
    ({"target_id": 1, "source_ids": []}, 400, "invalid_input"),
    ({"target_id": "x", "source_ids": [2]}, 400, "invalid_input"),
    ({"target_id": 1, "source_ids": [0]}, 400, "invalid_input"),
    ({"target_id": 1, "source_ids": list(range(2, 60))}, 400, "invalid_input"),
    ({"target_id": 99999998, "source_ids": [99999999]}, 404, "need_not_found"),
])
def test_merge_refuses_bad_input(client, body, status, code):
    login(client, StaffFactory())
    assert_error(post(client, f"{BASE}/merge", body), status, code)


@pytest.mark.parametrize("body,status,code", [
    ({"score": 0}, 400, "invalid_score"),
    ({"score": 6}, 400, "invalid_score"),
    ({"score": "five"}, 400, "invalid_input"),
    ({}, 400, "invalid_input"),
    ({"score": 5, "comment": "长" * 501}, 400, "comment_too_long"),
])
def test_rating_refuses_bad_input(api, body, status, code):
    rider = WorkerFactory()
    need = NeedFactory(status="resolved", raisers=[rider])
    login(api, rider)
    assert_error(post(api, f"{BASE}/{need.pk}/rating", body), status, code)
    assert not NeedFeedback.objects.exists()


def test_rating_before_resolution_and_by_others(api):
    rider = WorkerFactory()
    need = NeedFactory(status="accepted", raisers=[rider])
    login(api, rider)
    assert_error(post(api, f"{BASE}/{need.pk}/rating", {"score": 5}), 409, "not_resolved")
    login(api, WorkerFactory())
    assert_error(post(api, f"{BASE}/{need.pk}/rating", {"score": 5}), 404, "need_not_found")


def test_actions_need_their_reason(client):
    need = NeedFactory()
    login(client, StaffFactory())
    assert_error(post(client, f"{BASE}/{need.pk}/decline", {"text": ""}), 400,
                 "reason_required")
    post(client, f"{BASE}/{need.pk}/accept")
    assert_error(post(client, f"{BASE}/{need.pk}/accept"), 409, "invalid_transition")
    assert_error(post(client, f"{BASE}/{need.pk}/resolve", {"text": " "}), 400,
                 "outcome_required")


def test_staff_edit_through_patch(client):
    need = NeedFactory()
    login(client, StaffFactory())
    response = client.patch(f"{BASE}/{need.pk}", json.dumps({"urgency": 3, "category": "housing"}),
                            content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["urgency"] == 3 and response.json()["category"] == "housing"
    assert_error(client.patch(f"{BASE}/{need.pk}", json.dumps({"urgency": 9}),
                              content_type="application/json"), 400, "invalid_urgency")


def test_administrators_must_pass_the_second_factor(client):
    admin = StaffFactory(role="district_admin", region_code=YIWU)
    need = NeedFactory()
    client.force_login(admin)  # password only: TOTP not passed in this session
    assert_error(client.get(BASE), 403, "totp_required")
    assert_error(client.get(f"{BASE}/{need.pk}"), 403, "totp_required")
    assert_error(post(client, f"{BASE}/{need.pk}/accept"), 403, "totp_required")
    assert_error(post(client, f"{BASE}/merge", {"target_id": need.pk, "source_ids": [1]}), 403,
                 "totp_required")
    login(client, admin)
    assert client.get(BASE).status_code == 200


def test_anonymous_is_asked_to_log_in(api):
    assert_error(api.get(BASE), 401, "not_authenticated")
    assert_error(post(api, BASE, {"title": "x", "category": "charging"}), 401,
                 "not_authenticated")


def test_workers_see_only_their_own_and_followed_needs(api):
    rider, other = WorkerFactory(), WorkerFactory()
    mine = NeedFactory(raisers=[rider])
    NeedFactory(raisers=[other])
    followed = NeedFactory(raisers=[other])
    post(login(api, rider), f"{BASE}/{followed.pk}/me-too")
    listed = api.get(BASE).json()
    assert {r["id"] for r in listed["results"]} == {mine.pk, followed.pk}
    assert listed["count"] == 2


# --- query budgets ------------------------------------------------------------------------

def _many(n, **kwargs):
    riders = [WorkerFactory() for _ in range(3)]
    for i in range(n):
        NeedFactory(raisers=riders[: 1 + i % 3], **kwargs)
    return riders


@pytest.mark.parametrize("n", [5, 40])
def test_staff_list_query_budget(client, django_assert_max_num_queries, n):
    _many(n)
    login(client, StaffFactory(role="street_admin", region_code=CHOUCHENG))
    with django_assert_max_num_queries(8):
        response = client.get(BASE, {"page_size": 100})
    assert response.json()["count"] == n


@pytest.mark.parametrize("n", [5, 40])
def test_worker_list_query_budget(api, django_assert_max_num_queries, n):
    rider = _many(n)[0]
    login(api, rider)
    with django_assert_max_num_queries(6):
        response = api.get(BASE, {"page_size": 100})
    assert response.json()["count"] == n


def test_detail_query_budget(client, django_assert_max_num_queries):
    riders = _many(1)
    need = Need.objects.get()
    for r in riders[1:]:
        post(login(client, r), f"{BASE}/{need.pk}/me-too")
    login(client, StaffFactory())
    with django_assert_max_num_queries(10):
        assert client.get(f"{BASE}/{need.pk}").status_code == 200

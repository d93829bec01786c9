"""Malformed and oversized requests get a 4xx with the JSON error shape, never a 500
(issue 8, item 5)."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings

from nuanxin.api import api as nuanxin_api
from tests.factories.people import WorkerFactory

pytestmark = pytest.mark.django_db

WRITE_METHODS = {"post", "put", "patch", "delete"}


def _write_operations() -> list[tuple[str, str]]:
    schema = nuanxin_api.get_openapi_schema()
    return [
        (method, re.sub(r"\{[^}]+\}", "1", path))
        for path, methods in schema["paths"].items()
        for method in methods
        if method in WRITE_METHODS
    ]


def _assert_json_error(response, status):
    assert response.status_code == status, response.content[:300]
    body = json.loads(response.content)
    assert body["code"] and body["message"] and body["message_en"]
    return body


@pytest.fixture
def rider_client():
    """A logged-in rider's browser: session cookie, CSRF cookie and header, as the pages
    send them (the CSRF check is what reads a form body first)."""
    from django.middleware.csrf import _get_new_csrf_string
    from django.test import Client

    token = _get_new_csrf_string()
    client = Client(enforce_csrf_checks=True, HTTP_X_CSRFTOKEN=token)
    client.cookies["csrftoken"] = token
    client.force_login(WorkerFactory(home_region_code=None))
    return client


@pytest.mark.parametrize(("method", "path"), _write_operations())
def test_multipart_without_a_boundary_is_a_json_400(rider_client, method, path):
    response = getattr(rider_client, method)(path, data=b"x=1",
                                             content_type="multipart/form-data")
    _assert_json_error(response, 400)


def test_there_are_many_session_authenticated_write_endpoints():
    assert len(_write_operations()) >= 18


def _big_json() -> bytes:
    return json.dumps({"phone": "1" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)}).encode()


def test_an_oversized_json_body_to_the_anonymous_sms_code_endpoint_is_a_json_413(client):
    response = client.post("/api/v1/auth/sms-codes", data=_big_json(),
                           content_type="application/json")
    body = _assert_json_error(response, 413)
    assert body["code"] == "request_too_large"


def test_an_oversized_json_body_from_a_logged_in_rider_is_a_json_413(rider_client):
    response = rider_client.post("/api/v1/needs", data=_big_json(),
                                 content_type="application/json")
    _assert_json_error(response, 413)


def test_an_oversized_form_on_a_page_gets_a_friendly_page(client):
    response = client.post("/accounts/login/",
                           data={"phone": "1" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    assert response.status_code == 413
    html = response.content.decode()
    assert "<html" in html and "太大" in html


@pytest.mark.parametrize("page", ["99999999999999999999", "100001"])
def test_a_page_number_past_any_real_list_is_refused(page):
    from nuanxin.accounts.models import User
    from nuanxin.common.errors import ServiceError
    from nuanxin.common.pagination import paginate

    with pytest.raises(ServiceError) as refused:
        paginate(User.objects.all(), page=int(page), page_size=20)
    assert refused.value.code == "invalid_page"


def test_a_huge_page_number_on_the_needs_list_is_a_json_400(client):
    from tests.factories.people import StaffFactory

    client.force_login(StaffFactory(role="community_staff"))
    response = client.get("/api/v1/needs?page=99999999999999999999")
    _assert_json_error(response, 400)


def test_an_overlong_api_address_is_a_json_414(client):
    response = client.get("/api/v1/stations/nearby?lat=29.3&lng=120.0&x=" + "a" * 9000)
    _assert_json_error(response, 414)


def test_an_overlong_page_address_gets_a_friendly_page(client):
    response = client.get("/?q=" + "a" * 9000)
    assert response.status_code == 414 and "<html" in response.content.decode()


def test_a_write_without_the_csrf_token_is_refused_in_the_callers_language():
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(WorkerFactory(home_region_code=None))
    response = client.patch("/api/v1/me", {"display_name": "x"}, content_type="application/json")
    body = _assert_json_error(response, 403)
    assert body["code"] == "csrf_failed" and body["message"] == "页面已过期，请刷新页面后再试。"

"""Login CSRF on the SMS login API, and nothing for an administrator between the password
and the second factor (issue 8, item 8)."""

from __future__ import annotations

import pytest
from django.test import Client

from nuanxin.accounts.models import Notification
from tests.accounts.test_staff_auth import totp_now
from tests.factories.people import STAFF_PASSWORD, StaffFactory, WorkerFactory

pytestmark = pytest.mark.django_db

TOTP = "/accounts/staff/totp/"


@pytest.fixture
def browser_client():
    return Client(enforce_csrf_checks=True, HTTP_HOST="127.0.0.1")


def _code_for(phone, sms):
    from nuanxin.accounts import services

    with sms.sending():
        services.sms_code_request(phone=phone, ip=None)
    return sms.last_code(phone)


def test_sms_login_without_a_csrf_token_is_refused_and_logs_nobody_in(browser_client, sms):
    worker = WorkerFactory(home_region_code=None, phone="13811112222")
    code = _code_for(worker.phone, sms)
    response = browser_client.post("/api/v1/auth/sms-login",
                                   {"phone": worker.phone, "code": code},
                                   content_type="application/json")
    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
    assert browser_client.get("/api/v1/me").status_code == 401


def test_sms_login_with_the_csrf_token_logs_in(browser_client, sms):
    worker = WorkerFactory(home_region_code=None, phone="13811113333")
    code = _code_for(worker.phone, sms)
    token = browser_client.get("/api/v1/auth/csrf").json()["csrf_token"]
    response = browser_client.post("/api/v1/auth/sms-login",
                                   {"phone": worker.phone, "code": code},
                                   content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200 and response.json()["id"] == worker.pk
    assert browser_client.get("/api/v1/me").json()["id"] == worker.pk


@pytest.fixture
def half_logged_in(client):
    admin = StaffFactory(role="district_admin", totp=True)
    Notification.objects.create(user=admin, title="机密通知")
    response = client.post("/accounts/staff/login/",
                           {"username": admin.username, "password": STAFF_PASSWORD})
    assert response["Location"].startswith(TOTP)
    client.admin = admin
    return client


@pytest.mark.parametrize("path", [
    "/accounts/inbox/", "/accounts/me/data.json", "/accounts/me/", "/accounts/me/delete/",
    "/console/", "/console/needs/", "/console/energy/", "/admin/", "/needs/", "/",
])
def test_a_half_logged_in_admin_is_sent_to_the_second_factor_from_every_page(
        half_logged_in, path):
    response = half_logged_in.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(TOTP + "?next=")
    assert "机密通知" not in response.content.decode()


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/needs", "/api/v1/surveys/mine",
                                  "/api/v1/energy/me"])
def test_a_half_logged_in_admin_gets_nothing_from_the_api(half_logged_in, path):
    response = half_logged_in.get(path)
    assert response.status_code == 403 and response.json()["code"] == "totp_required"


def test_the_half_logged_in_admin_can_still_pass_the_second_factor_or_log_out(half_logged_in):
    assert half_logged_in.get(TOTP).status_code == 200
    assert half_logged_in.post(TOTP, {"code": totp_now(half_logged_in.admin)}).status_code == 302
    response = half_logged_in.get("/accounts/inbox/")
    assert response.status_code == 200 and "机密通知" in response.content.decode()


def test_a_half_logged_in_admin_may_log_out(half_logged_in):
    assert half_logged_in.post("/accounts/logout/").status_code == 302
    assert half_logged_in.get("/accounts/inbox/")["Location"].startswith("/accounts/login/")

"""Staff sign-in: password, the TOTP second factor, its guard, lockouts, logout."""

import re
from datetime import datetime
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.http import HttpResponse
from django.test import RequestFactory

from nuanxin.accounts.decorators import SESSION_TOTP_OK, staff_required
from nuanxin.accounts.models import AuditLog, User
from tests.accounts.qr import read_svg_qr
from tests.factories.people import STAFF_PASSWORD, StaffFactory, SuperuserFactory, WorkerFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/staff/login/"
TOTP = "/accounts/staff/totp/"


def sign_in(client, user, password=STAFF_PASSWORD, **extra):
    return client.post(LOGIN, {"username": user.username, "password": password, **extra})


def session_user(client):
    value = client.session.get(SESSION_KEY)
    return int(value) if value is not None else None


def totp_now(user) -> str:
    user.refresh_from_db()
    return pyotp.TOTP(user.totp_secret).now()


def totp_wrong(user) -> str:
    """A six-digit code that is not valid now (nor in the neighbouring time steps)."""
    totp = pyotp.TOTP(user.totp_secret)
    now = datetime.now()
    valid = {totp.at(now, counter_offset=step) for step in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


def test_the_staff_login_page_asks_for_username_and_password(client):
    response = client.get(LOGIN)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="username"' in html and 'type="password"' in html


def test_community_staff_log_in_with_a_password_alone(client):
    staff = StaffFactory(role="community_staff")
    response = sign_in(client, staff)
    assert response.status_code == 302 and response["Location"] == "/console/"
    assert session_user(client) == staff.pk


def test_staff_go_back_where_they_were_going(client):
    staff = StaffFactory(role="station_keeper")
    response = sign_in(client, staff, next="/console/import/")
    assert response["Location"] == "/console/import/"


def test_a_wrong_password_is_refused_with_the_tries_left(client):
    staff = StaffFactory()
    response = sign_in(client, staff, password="not-it")
    html = response.content.decode()
    assert response.status_code == 200
    assert "用户名或密码不正确" in html and "还可以再试 9 次" in html
    assert f'value="{staff.username}"' in html
    assert session_user(client) is None


def test_an_unknown_username_gets_the_same_answer(client):
    response = client.post(LOGIN, {"username": "nobody", "password": "whatever1"})
    assert "用户名或密码不正确" in response.content.decode()


def test_a_worker_cannot_use_the_staff_login(client):
    worker = WorkerFactory(home_region_code=None)
    worker.set_password("a-worker-password")
    worker.save()
    response = client.post(LOGIN, {"username": worker.username,
                                   "password": "a-worker-password"})
    assert response.status_code == 200
    assert "这不是工作人员账号" in response.content.decode()
    assert session_user(client) is None


def test_ten_wrong_passwords_lock_the_username_for_a_while(client):
    staff = StaffFactory()
    for _ in range(9):
        sign_in(client, staff, password="wrong-password")
    response = sign_in(client, staff, password="wrong-password")
    assert "15 分钟" in response.content.decode()
    response = sign_in(client, staff)  # even the right password waits now
    assert "15 分钟" in response.content.decode()
    assert session_user(client) is None
    assert AuditLog.objects.filter(action="accounts.staff_login.locked",
                                   object_id=staff.username).count() == 1
    other = StaffFactory()
    assert sign_in(client, other).status_code == 302  # others are not locked out


def test_a_right_password_resets_the_count(client):
    staff = StaffFactory()
    for _ in range(9):
        sign_in(client, staff, password="wrong-password")
    assert sign_in(client, staff).status_code == 302
    client.logout()
    response = sign_in(client, staff, password="wrong-password")
    assert "还可以再试 9 次" in response.content.decode()


@pytest.mark.parametrize("data", [{}, {"username": "x" * 1000, "password": "y"},
                                  {"username": "", "password": ""}])
def test_malformed_staff_logins_get_a_page(client, data):
    response = client.post(LOGIN, data)
    assert response.status_code == 200 and 'class="notice error"' in response.content.decode()


# Second factor -----------------------------------------------------------------------


def test_an_admin_enrols_totp_by_qr_code_then_enters_a_code(client):
    admin = StaffFactory(role="district_admin")
    response = sign_in(client, admin, next="/console/import/")
    assert response.status_code == 302
    location = urlparse(response["Location"])
    assert location.path == TOTP
    assert parse_qs(location.query)["next"] == ["/console/import/"]
    assert session_user(client) == admin.pk and not client.session[SESSION_TOTP_OK]

    page = client.get(response["Location"])
    html = page.content.decode()
    admin.refresh_from_db()
    assert admin.totp_secret and admin.totp_confirmed_at is None
    shown = re.search(r'id="totp-secret">([^<]+)<', html).group(1)
    assert shown.replace(" ", "") == admin.totp_secret
    uri = read_svg_qr(re.search(r"<svg.*?</svg>", html, re.S).group(0))
    parsed = pyotp.parse_uri(uri)
    assert parsed.secret == admin.totp_secret and parsed.issuer == "暖新"

    again = client.get(TOTP)  # reloading keeps the same secret (the QR was maybe scanned)
    admin.refresh_from_db()
    assert admin.totp_secret == parsed.secret and parsed.secret in again.content.decode().replace(
        " ", "")

    response = client.post(TOTP, {"code": totp_now(admin), "next": "/console/import/"})
    assert response.status_code == 302 and response["Location"] == "/console/import/"
    assert client.session[SESSION_TOTP_OK] is True
    admin.refresh_from_db()
    assert admin.totp_confirmed_at is not None


def test_an_enrolled_admin_only_types_the_code(client):
    admin = StaffFactory(role="city_admin", totp=True)
    sign_in(client, admin)
    html = client.get(TOTP).content.decode()
    assert "<svg" not in html and admin.totp_secret not in html.replace(" ", "")
    assert 'autocomplete="one-time-code"' in html
    response = client.post(TOTP, {"code": totp_now(admin)})
    assert response["Location"] == "/console/"


def test_a_wrong_totp_code_is_refused_and_counted(client):
    admin = StaffFactory(role="province_admin", totp=True)
    sign_in(client, admin)
    response = client.post(TOTP, {"code": totp_wrong(admin)})
    html = response.content.decode()
    assert response.status_code == 200
    assert "动态口令不正确" in html and "还可以再试 9 次" in html
    assert not client.session.get(SESSION_TOTP_OK)


def test_ten_wrong_totp_codes_lock_even_the_right_one(client):
    admin = StaffFactory(role="street_admin", totp=True)
    sign_in(client, admin)
    bad = totp_wrong(admin)
    for _ in range(10):
        response = client.post(TOTP, {"code": bad})
    assert "15 分钟" in response.content.decode()
    response = client.post(TOTP, {"code": totp_now(admin)})
    assert response.status_code == 200 and "15 分钟" in response.content.decode()
    assert not client.session.get(SESSION_TOTP_OK)


def test_a_totp_code_cannot_be_used_twice(client):
    admin = StaffFactory(role="district_admin", totp=True)
    code = totp_now(admin)
    sign_in(client, admin)
    assert client.post(TOTP, {"code": code}).status_code == 302
    other = client.__class__()
    sign_in(other, admin)
    response = other.post(TOTP, {"code": code})
    assert response.status_code == 200 and "刚刚用过" in response.content.decode()


def test_a_malformed_totp_code_is_explained(client):
    admin = StaffFactory(role="district_admin", totp=True)
    sign_in(client, admin)
    response = client.post(TOTP, {"code": "12ab"})
    assert "6 位数字" in response.content.decode()


def test_the_totp_page_needs_a_logged_in_staff_member(client):
    response = client.get(TOTP)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    client.force_login(WorkerFactory(home_region_code=None))
    response = client.get(TOTP)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    response = client.post(TOTP, {"code": "123456"})
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_staff_who_need_no_second_factor_pass_the_totp_page(client):
    keeper = StaffFactory(role="station_keeper")
    sign_in(client, keeper)
    assert client.get(TOTP)["Location"] == "/console/"
    assert User.objects.get(pk=keeper.pk).totp_secret == ""


def test_superusers_need_the_second_factor_too(client):
    root = User.objects.create_superuser("root", password=STAFF_PASSWORD)  # as createsuperuser
    assert root.kind == "staff"
    response = client.post(LOGIN, {"username": "root", "password": STAFF_PASSWORD})
    assert urlparse(response["Location"]).path == TOTP


# The guard on staff pages -------------------------------------------------------------


def guarded(user, session_ok: bool | None = None):
    @staff_required
    def view(request):
        return HttpResponse("console")

    request = RequestFactory().get("/console/stations/?page=2")
    request.user = user
    request.session = SessionStore()
    if session_ok is not None:
        request.session[SESSION_TOTP_OK] = session_ok
    return view(request)


def test_the_guard_sends_an_admin_without_totp_to_the_totp_page():
    admin = StaffFactory(role="district_admin", totp=True)
    response = guarded(admin, session_ok=False)
    location = urlparse(response["Location"])
    assert response.status_code == 302 and location.path == TOTP
    assert parse_qs(location.query)["next"] == ["/console/stations/?page=2"]
    assert guarded(admin, session_ok=True).content == b"console"


def test_the_guard_lets_staff_without_totp_duty_in_and_keeps_workers_out():
    assert guarded(StaffFactory(role="community_staff")).content == b"console"
    response = guarded(WorkerFactory(home_region_code=None))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_a_half_logged_in_admin_is_bounced_by_the_login_page_too(client):
    admin = StaffFactory(role="district_admin", totp=True)
    sign_in(client, admin)
    response = client.get(LOGIN)
    assert urlparse(response["Location"]).path == TOTP


# Logout ------------------------------------------------------------------------------


def test_logout_is_a_post(client):
    staff = StaffFactory()
    client.force_login(staff)
    page = client.get("/accounts/logout/")
    assert page.status_code == 200 and session_user(client) == staff.pk
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert session_user(client) is None


def test_a_worker_logs_out_to_the_home_page(client):
    client.force_login(WorkerFactory(home_region_code=None))
    response = client.post("/accounts/logout/")
    assert response["Location"] == "/" and session_user(client) is None


# Django admin goes through the same door ---------------------------------------------


def test_the_admin_login_sends_people_to_the_staff_login(client):
    response = client.get("/admin/login/?next=/admin/accounts/user/")
    location = urlparse(response["Location"])
    assert response.status_code == 302 and location.path == LOGIN
    assert parse_qs(location.query)["next"] == ["/admin/accounts/user/"]
    response = client.post("/admin/login/", {"username": "root", "password": "x"})
    assert response.status_code == 302 and session_user(client) is None


def test_a_superuser_reaches_the_admin_only_after_the_second_factor(client):
    root = SuperuserFactory(username="root")
    response = client.post(LOGIN, {"username": "root", "password": STAFF_PASSWORD})
    assert urlparse(response["Location"]).path == TOTP
    assert client.get("/admin/").status_code == 302  # password alone is not enough
    client.get(TOTP)  # enrol
    response = client.post(TOTP, {"code": totp_now(root), "next": "/admin/"})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200

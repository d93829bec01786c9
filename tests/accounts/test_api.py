"""The accounts JSON API: my profile (masked) and revealing a phone number (audited)."""

import pytest

from nuanxin.accounts.decorators import SESSION_TOTP_OK
from nuanxin.accounts.models import AuditLog
from tests.factories.people import StaffFactory, WorkerFactory
from tests.factories.places import CHUITAI, JINHUA, YIJIASHAN

pytestmark = pytest.mark.django_db


def reveal(api, user_id):
    return api.post(f"/api/v1/people/{user_id}/phone")


def pass_totp(api):
    session = api.session
    session[SESSION_TOTP_OK] = True
    session.save()


@pytest.fixture
def worker():
    return WorkerFactory(phone="13812345678", home_region_code=YIJIASHAN)


def test_me_shows_the_phone_masked_and_never_in_full(api, worker):
    api.force_login(worker)
    response = api.get("/api/v1/me")
    body = response.json()
    assert response.status_code == 200
    assert body["phone_masked"] == "138****5678"
    assert "13812345678" not in response.content.decode()
    assert body["home_region"] == {"code": YIJIASHAN, "name": "义驾山社区"}
    assert body["consent_version"] == "2026-11"


def test_me_needs_a_login(api):
    response = api.get("/api/v1/me")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_community_staff_see_the_full_number_and_it_is_written_down(api, worker):
    staff = StaffFactory(role="community_staff", region_code=YIJIASHAN)
    api.force_login(staff)
    response = reveal(api, worker.pk)
    assert response.status_code == 200 and response.json() == {"phone": "13812345678"}
    entry = AuditLog.objects.get(action="accounts.phone.revealed")
    assert (entry.actor, entry.object_type, entry.object_id, entry.ip) == (
        staff, "user", str(worker.pk), "127.0.0.1")


def test_a_station_keeper_may_not_see_full_numbers(api, worker):
    api.force_login(StaffFactory(role="station_keeper", region_code=YIJIASHAN))
    response = reveal(api, worker.pk)
    assert response.status_code == 403
    assert response.json()["code"] == "phone_reveal_forbidden"
    assert response.json()["message_en"]
    assert not AuditLog.objects.exists()


def test_someone_outside_the_staff_members_region_is_not_found(api, worker):
    api.force_login(StaffFactory(role="community_staff", region_code=CHUITAI))
    response = reveal(api, worker.pk)
    assert response.status_code == 404 and response.json()["code"] == "user_not_found"
    assert not AuditLog.objects.exists()


def test_a_person_who_does_not_exist_is_not_found(api):
    api.force_login(StaffFactory(role="community_staff"))
    assert reveal(api, 987654321).status_code == 404
    assert reveal(api, 2**63 + 5).status_code in (400, 404)
    assert reveal(api, "abc").status_code in (400, 404)


def test_a_keeper_is_refused_before_anything_is_looked_up(api):
    api.force_login(StaffFactory(role="station_keeper"))
    assert reveal(api, 987654321).status_code == 403


def test_an_administrator_above_the_community_sees_it_after_the_second_factor(api, worker):
    admin = StaffFactory(role="city_admin", region_code=JINHUA, totp=True)
    api.force_login(admin)
    response = reveal(api, worker.pk)
    assert response.status_code == 403 and response.json()["code"] == "totp_required"
    pass_totp(api)
    response = reveal(api, worker.pk)
    assert response.status_code == 200 and response.json()["phone"] == "13812345678"
    assert AuditLog.objects.filter(actor=admin, action="accounts.phone.revealed").count() == 1


def test_workers_and_strangers_get_nothing(api, worker):
    other = WorkerFactory(home_region_code=YIJIASHAN)
    assert reveal(api, worker.pk).status_code == 401
    api.force_login(other)
    response = reveal(api, worker.pk)
    assert response.status_code == 403 and response.json()["code"] == "phone_reveal_forbidden"


def test_revealing_is_a_post(api, worker):
    api.force_login(StaffFactory(role="community_staff"))
    assert api.get(f"/api/v1/people/{worker.pk}/phone").status_code == 405

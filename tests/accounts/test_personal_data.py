"""A worker's own data: the export (with other apps' sections) and deleting the account."""

import json

import pytest
from django.contrib.auth import SESSION_KEY

from nuanxin.accounts import personal_data, services
from nuanxin.accounts.models import (
    AuditLog,
    ConsentRecord,
    SmsCode,
    User,
    WorkerProfile,
)
from nuanxin.common import manifest
from nuanxin.common.errors import ServiceError
from nuanxin.common.manifest import Manifest
from tests.factories.people import StaffFactory, WorkerFactory
from tests.factories.places import CHUITAI

pytestmark = pytest.mark.django_db

EXPORT = "/accounts/me/data.json"
DELETE = "/accounts/me/delete/"


@pytest.fixture
def worker():
    return WorkerFactory(phone="13912345678", home_region_code=CHUITAI,
                         occupation="courier", platforms=["顺丰", "京东"],
                         display_name="小李")


@pytest.fixture
def registered(monkeypatch):
    """Declare exporters/erasers for one test, as an app's manifest would."""
    declared = []
    real = manifest.manifests()
    monkeypatch.setattr(manifest, "manifests", lambda: real + declared)

    def register(name, exporter=None, eraser=None, app="extra"):
        declared.append((app, Manifest(exporters={name: exporter} if exporter else {},
                                       erasers={name: eraser} if eraser else {})))

    return register


def test_a_worker_downloads_everything_kept_about_them(client, worker, registered):
    registered("test_visits", exporter=lambda user: [{"station": "义驾山驿站", "who": user.pk}])
    client.force_login(worker)
    response = client.get(EXPORT)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["account"]["phone"] == "13912345678"  # their own number, in full
    assert data["account"]["display_name"] == "小李"
    assert data["profile"]["occupation"] == "courier"
    assert data["profile"]["platforms"] == ["顺丰", "京东"]
    assert data["profile"]["home_region"] == {"code": CHUITAI, "name": "吹台社区"}
    assert [c["version"] for c in data["consents"]] == ["2026-11"]
    assert data["test_visits"] == [{"station": "义驾山驿站", "who": worker.pk}]
    assert "吹台社区" in response.content.decode()  # readable Chinese, not \\u escapes


def test_the_export_holds_nobody_elses_data(client, worker):
    other = WorkerFactory(home_region_code=None, phone="13700001111")
    client.force_login(worker)
    body = client.get(EXPORT).content.decode()
    assert "13700001111" not in body and str(other.pk) not in json.loads(body)["account"].values()


def test_the_export_needs_a_login(client):
    response = client.get(EXPORT)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_exporter_names_are_unique_and_cannot_shadow_built_in_sections(registered):
    assert manifest.check_manifests() == [] and personal_data.check_sections() == []
    registered("needs", exporter=lambda user: [])
    registered("profile", exporter=lambda user: [])
    assert [e.msg for e in manifest.check_manifests()] == [
        "export section 'needs' of extra is already declared by needs"]
    assert [e.msg for e in personal_data.check_sections()] == [
        "'profile' is a built-in section of the personal-data export"]


def test_deleting_the_account_asks_first(client, worker):
    client.force_login(worker)
    page = client.get(DELETE)
    assert page.status_code == 200 and "139****5678" in page.content.decode()
    response = client.post(DELETE, {})
    assert response.status_code == 200 and "请勾选确认" in response.content.decode()
    assert User.objects.filter(pk=worker.pk).exists()


def test_deleting_the_account_removes_the_person_and_leaves_a_pseudonymous_record(
    client, worker, registered, sms
):
    with sms.sending():
        services.sms_code_request(phone=worker.phone, ip="10.1.1.1")
    erased = []
    registered("test_eraser", eraser=lambda user: erased.append(user.pk))
    pk = worker.pk
    pseudonym = services.pseudonymous_id(worker)
    client.force_login(worker)

    response = client.post(DELETE, {"confirm": "on"})

    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session.get(SESSION_KEY) is None
    assert not User.objects.filter(pk=pk).exists()
    assert not WorkerProfile.objects.filter(user_id=pk).exists()
    assert not ConsentRecord.objects.filter(user_id=pk).exists()
    assert not SmsCode.objects.filter(phone="13912345678").exists()
    assert erased == [pk]
    entry = AuditLog.objects.get(action="accounts.account.deleted")
    assert entry.actor is None and entry.object_id == pseudonym
    assert pseudonym.startswith("u-") and len(pseudonym) == 26
    assert entry.object_id != str(pk) and entry.ip is None
    record = json.dumps([entry.object_id, entry.detail], ensure_ascii=False)
    assert "13912345678" not in record and "139****5678" not in record


def test_a_failing_eraser_deletes_nothing(worker, registered):
    def broken(user):
        WorkerProfile.objects.filter(user=user).delete()
        raise RuntimeError("storage down")

    registered("test_broken", eraser=broken)
    with pytest.raises(RuntimeError):
        services.worker_account_delete(user=worker)
    assert User.objects.filter(pk=worker.pk).exists()
    assert WorkerProfile.objects.filter(user=worker).exists()
    assert not AuditLog.objects.exists()


def test_staff_accounts_are_not_deleted_here(client):
    staff = StaffFactory()
    with pytest.raises(ServiceError) as caught:
        services.worker_account_delete(user=staff)
    assert caught.value.code == "workers_only"
    client.force_login(staff)
    assert client.post(DELETE, {"confirm": "on"}).status_code == 200
    assert User.objects.filter(pk=staff.pk).exists()

import pytest

from nuanxin.accounts.models import AuditLog
from tests.factories.people import SuperuserFactory, WorkerFactory, login
from tests.factories.places import StationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    root = SuperuserFactory()
    login(client, root)
    client.root = root
    return client


@pytest.mark.parametrize("path", [
    "/admin/", "/admin/geo/region/", "/admin/accounts/user/", "/admin/accounts/auditlog/",
    "/admin/stations/station/", "/admin/accounts/orgunit/",
])
def test_admin_pages_open_for_a_superuser(superuser_client, path):
    assert superuser_client.get(path).status_code == 200


def test_opening_a_worker_in_admin_is_audited(superuser_client):
    worker = WorkerFactory(home_region_code=None)
    response = superuser_client.get(f"/admin/accounts/user/{worker.pk}/change/")
    assert response.status_code == 200
    entry = AuditLog.objects.get(action="accounts.phone.viewed_in_admin")
    assert (entry.actor, entry.object_id) == (superuser_client.root, str(worker.pk))


def test_stations_are_read_only_in_admin(superuser_client):
    station = StationFactory()
    page = superuser_client.get(f"/admin/stations/station/{station.pk}/change/")
    assert page.status_code == 200
    response = superuser_client.post(f"/admin/stations/station/{station.pk}/change/",
                                     {"name": "renamed"})
    assert response.status_code == 403
    station.refresh_from_db()
    assert station.name != "renamed"

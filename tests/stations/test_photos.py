import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from nuanxin.stations.models import StationPhoto
from tests.factories.people import StaffFactory, login
from tests.factories.places import CHUITAI, StationFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def staff_client(client):
    return login(client, StaffFactory())


def upload(client, station, name, content, caption=""):
    return client.post(f"/console/stations/{station.pk}/photos/",
                       {"image": SimpleUploadedFile(name, content), "caption": caption})


def test_staff_uploads_a_photo_and_riders_see_it(staff_client, client, tmp_path):
    station = StationFactory()
    response = upload(staff_client, station, "door.png", PNG, "门口")
    assert response.status_code == 302
    photo = StationPhoto.objects.get(station=station)
    assert photo.caption == "门口"
    assert photo.image.name.endswith(".png")
    assert (tmp_path / photo.image.name).read_bytes() == PNG
    page = client.get(f"/stations/{station.pk}/").content.decode()
    assert photo.image.url in page


def test_the_bytes_decide_the_type_not_the_name(staff_client):
    station = StationFactory()
    response = upload(staff_client, station, "door.png", b"<svg onload=alert(1)>")
    assert response.status_code == 400
    assert "只能上传 JPG、PNG 或 WebP" in response.content.decode()
    assert not StationPhoto.objects.exists()
    assert upload(staff_client, station, "photo.dat", JPEG).status_code == 302
    assert StationPhoto.objects.get().image.name.endswith(".jpg")


def test_at_most_six_photos(staff_client):
    station = StationFactory()
    for _ in range(6):
        assert upload(staff_client, station, "p.png", PNG).status_code == 302
    response = upload(staff_client, station, "p.png", PNG)
    assert response.status_code == 400
    assert StationPhoto.objects.filter(station=station).count() == 6


def test_delete_removes_row_and_file(staff_client, tmp_path, django_capture_on_commit_callbacks):
    station = StationFactory()
    upload(staff_client, station, "p.png", PNG)
    photo = StationPhoto.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            f"/console/stations/{station.pk}/photos/{photo.pk}/delete/")
    assert response.status_code == 302
    assert not StationPhoto.objects.exists()
    assert not (tmp_path / photo.image.name).exists()


def test_staff_elsewhere_cannot_add_photos(client):
    station = StationFactory()
    outsider = login(client, StaffFactory(region_code=CHUITAI))
    response = upload(outsider, station, "p.png", PNG)
    assert response.status_code == 404
    assert not StationPhoto.objects.exists()

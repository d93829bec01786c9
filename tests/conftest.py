import pytest
from django.test import Client


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Every test database starts with Zhejiang's real region tree (loaded once)."""
    from nuanxin.geo.selectors import reset_locate_index
    from nuanxin.geo.services import regions_load_zhejiang

    with django_db_blocker.unblock():
        regions_load_zhejiang()
    reset_locate_index()


@pytest.fixture
def api():
    return Client(HTTP_HOST="127.0.0.1")

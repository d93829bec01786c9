import pytest
from django.utils import translation

from tests.factories.places import CHUITAI, YIJIASHAN, ensure_units


@pytest.fixture(autouse=True)
def places(db):
    ensure_units(YIJIASHAN, CHUITAI)


@pytest.fixture(autouse=True)
def chinese():
    """Each test starts in the default language (a page requested in English leaves the
    thread's language switched)."""
    translation.activate("zh-hans")
    yield
    translation.activate("zh-hans")

import pytest
from django.core.cache import cache

from tests.factories.people import StaffFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff():
    """Community staff of 义驾山社区, who build and run the surveys there."""
    return StaffFactory()

import pytest
from django.core.cache import cache

from tests.factories.places import (
    CHUITAI,
    NEXT_DOOR,
    YIJIASHAN,
    ensure_units,
    next_door,
    regions_back,
)


@pytest.fixture(autouse=True)
def places(db):
    """Organisation units of the article's places and every level above them, and a second
    community in 稠城街道; a clean cache (sign-in failure counters live there). Transactional
    tests (the browser's) empty the tables afterwards, so the region tree is put back first."""
    regions_back()
    next_door()
    ensure_units(YIJIASHAN, CHUITAI, NEXT_DOOR)
    cache.clear()
    yield
    cache.clear()


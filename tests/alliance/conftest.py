import pytest
from django.core.cache import cache
from django.utils import translation

from tests.alliance.helpers import CHUITAI, YIJIASHAN, ensure_units, other_choucheng


@pytest.fixture(autouse=True)
def places(db):
    """Organisation units of the article's places and every level above them, and a second
    community in 稠城街道; a clean cache (sign-in failure counters live there)."""
    other_choucheng()
    ensure_units(YIJIASHAN, CHUITAI, "330782001098")
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def chinese():
    """Each test starts in the default language (a page requested in English leaves the
    thread's language switched)."""
    translation.activate("zh-hans")
    yield
    translation.activate("zh-hans")

import pytest
from django.core.cache import cache
from django.utils import translation

from tests.factories.places import CHUITAI, YIJIASHAN, ensure_units, next_door


def _regions_back():
    """Transactional tests (the browser's) empty the tables afterwards: reload the tree."""
    from nuanxin.geo.models import Region
    from nuanxin.geo.selectors import reset_locate_index
    from nuanxin.geo.services import regions_load_zhejiang

    if not Region.objects.filter(code=YIJIASHAN).exists():
        regions_load_zhejiang()
        reset_locate_index()


@pytest.fixture(autouse=True)
def places(db):
    """Organisation units of the article's places and every level above them, and a second
    community in 稠城街道; a clean cache (sign-in failure counters live there)."""
    _regions_back()
    next_door()
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

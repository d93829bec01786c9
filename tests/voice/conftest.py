import pytest

from tests.factories.places import CHUITAI, YIJIASHAN, ensure_units


@pytest.fixture(autouse=True)
def places(db):
    ensure_units(YIJIASHAN, CHUITAI)


import pytest

from tests.alliance.helpers import CHUITAI, YIJIASHAN, ensure_units


@pytest.fixture(autouse=True)
def places(db):
    ensure_units(YIJIASHAN, CHUITAI)

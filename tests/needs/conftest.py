import pytest

from tests.factories.places import CHUITAI, QIANJIANGYUAN, YIJIASHAN, ensure_units


@pytest.fixture(autouse=True)
def units(db):
    """Every test here has the organisation units of the article's places and all levels
    above them (community → street → district → city → province)."""
    ensure_units(YIJIASHAN, CHUITAI, QIANJIANGYUAN)

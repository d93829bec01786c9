import pytest

from nuanxin.accounts.personal_data import personal_data_export
from nuanxin.stations import services
from nuanxin.stations.qr import station_token
from tests.factories.people import WorkerFactory
from tests.factories.places import StationFactory

pytestmark = pytest.mark.django_db


def test_my_data_export_lists_my_checkins_and_nobody_elses():
    station = StationFactory()
    me, other = WorkerFactory(home_region_code=None), WorkerFactory(home_region_code=None)
    services.checkin_record(worker=me, token=station_token(station.pk))
    services.checkin_record(worker=other, token=station_token(station.pk))
    export = personal_data_export(me)
    assert [c["station_id"] for c in export["checkins"]] == [station.pk]
    assert export["checkins"][0]["station"] == station.name

"""Station write services: validation, hours, exceptions and QR check-in."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import date, timedelta

import pytest
from django.core import signing
from django.utils import timezone

from nuanxin.accounts.models import AuditLog
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.geo.spatial import cell_of
from nuanxin.stations import qr, services
from nuanxin.stations.models import (
    CheckIn,
    HolidayCampaign,
    OpeningSpan,
    ScheduleException,
    Station,
    StationChange,
    StationIndexVersion,
)
from nuanxin.stations.nearby.version import current_index_version
from tests.common.threads import committed
from tests.factories.people import StaffFactory, SuperuserFactory, WorkerFactory
from tests.factories.places import (
    CHUITAI_POINT,
    HANGZHOU_POINT,
    JINHUA,
    YIJIASHAN,
    YIJIASHAN_POINT,
    StationFactory,
)
from tests.stations.helpers import make_station, station_data

pytestmark = pytest.mark.django_db

H = 60  # minutes per hour


@pytest.fixture
def root():
    return SuperuserFactory()


@pytest.fixture
def station(root):
    return make_station(user=root, name="义驾山社区党群服务中心")


# --- create and update ---------------------------------------------------------------------


def test_create_saves_everything(root):
    before = current_index_version()
    station = services.station_create(user=root, data=station_data(
        name="  义驾山社区党群服务中心 ", amenities=("hot_water", "toilet"), night_light=True,
        contact_phone=" 13800001111 "))
    station.refresh_from_db()
    assert station.name == "义驾山社区党群服务中心"
    assert station.region_id == YIJIASHAN
    assert station.amenities == ["hot_water", "toilet"]
    assert station.night_light is True
    assert station.contact_phone == "13800001111"
    assert station.h3_cell
    assert current_index_version() != before
    assert AuditLog.objects.filter(action="stations.station.created",
                                   object_id=str(station.pk)).exists()


def test_community_staff_can_create_in_their_community():
    keeper = StaffFactory(region_code=YIJIASHAN)
    station = services.station_create(user=keeper, data=station_data())
    assert station.region_id == YIJIASHAN


BAD_DATA = [
    ("empty name", {"name": "   "}, "name_required"),
    ("unknown type", {"type": "hotel"}, "invalid_station_type"),
    ("unknown amenity", {"amenities": ("hot_water", "sauna")}, "unknown_amenity"),
    ("lat too big", {"lat": 91.0}, "invalid_coordinates"),
    ("lat too small", {"lat": -90.5}, "invalid_coordinates"),
    ("lng too big", {"lng": 180.01}, "invalid_coordinates"),
    ("lat nan", {"lat": float("nan")}, "invalid_coordinates"),
    ("lng inf", {"lng": float("inf")}, "invalid_coordinates"),
    ("unknown region", {"region_code": "330799001001"}, "unknown_region"),
    ("Shanghai", {"lat": 31.2304, "lng": 121.4737}, "outside_service_area"),
    ("the sea", {"lat": 29.5, "lng": 123.5}, "outside_service_area"),
    ("Wenzhou point for a Yiwu community", {"lat": CHUITAI_POINT[0], "lng": CHUITAI_POINT[1]},
     "location_outside_region"),
    ("Hangzhou point for Jinhua city", {"region_code": JINHUA, "lat": HANGZHOU_POINT[0],
                                        "lng": HANGZHOU_POINT[1]}, "location_outside_region"),
]


@pytest.mark.parametrize(("case", "change", "code"), BAD_DATA, ids=[c[0] for c in BAD_DATA])
def test_create_refuses_bad_data_and_saves_nothing(root, case, change, code):
    version = current_index_version()
    with pytest.raises(ServiceError) as exc:
        services.station_create(user=root, data=station_data(**change))
    assert exc.value.code == code
    assert exc.value.status == 400
    assert str(exc.value.message)
    assert Station.objects.count() == 0
    assert current_index_version() == version
    assert not AuditLog.objects.filter(action__startswith="stations.").exists()


@pytest.mark.parametrize(("case", "change", "code"), BAD_DATA, ids=[c[0] for c in BAD_DATA])
def test_update_refuses_bad_data_and_changes_nothing(root, station, case, change, code):
    before = Station.objects.values().get(pk=station.pk)
    with pytest.raises(ServiceError) as exc:
        services.station_update(user=root, station_id=station.pk, data=station_data(**change))
    assert exc.value.code == code
    assert Station.objects.values().get(pk=station.pk) == before


def test_update_changes_the_station_and_its_cell(root, station):
    version = current_index_version()
    data = station_data(name="新名字", lat=29.3060, lng=120.0750, amenities=("reading",),
                        is_active=False)
    services.station_update(user=root, station_id=station.pk, data=data)
    station.refresh_from_db()
    assert (station.name, station.lat, station.lng) == ("新名字", 29.3060, 120.0750)
    assert station.amenities == ["reading"]
    assert station.is_active is False
    assert station.h3_cell == cell_of(29.3060, 120.0750)
    assert current_index_version() != version


def test_update_unknown_station(root):
    with pytest.raises(NotFound) as exc:
        services.station_update(user=root, station_id=999_999, data=station_data())
    assert exc.value.code == "station_not_found"


# --- weekly hours --------------------------------------------------------------------------


def spans_of(station):
    return list(OpeningSpan.objects.filter(station=station)
                .values_list("weekday", "opens", "closes"))


def test_set_hours_replaces_the_week(root, station):
    services.station_set_hours(user=root, station_id=station.pk,
                               spans=[(0, 8 * H, 12 * H), (0, 14 * H, 18 * H)])
    services.station_set_hours(user=root, station_id=station.pk, spans=[(1, 9 * H, 17 * H)])
    assert spans_of(station) == [(1, 9 * H, 17 * H)]


def test_set_hours_accepts_overnight_and_24h(root, station):
    spans = [(0, 16 * H, 2 * H), (4, 0, 24 * H), (6, 22 * H, 6 * H), (2, 8 * H, 12 * H),
             (2, 20 * H, 8 * H)]
    services.station_set_hours(user=root, station_id=station.pk, spans=spans)
    assert spans_of(station) == sorted(spans)


@pytest.mark.parametrize(("opens", "closes"), [(0, 24 * H), (16 * H, 2 * H), (22 * H, 22 * H - 1)])
def test_set_hours_same_every_day(root, station, opens, closes):
    spans = [(d, opens, closes) for d in range(7)]
    services.station_set_hours(user=root, station_id=station.pk, spans=spans)
    assert spans_of(station) == spans


def test_set_hours_empty_means_closed_every_day(root, station):
    services.station_set_hours(user=root, station_id=station.pk, spans=[(0, 8 * H, 18 * H)])
    services.station_set_hours(user=root, station_id=station.pk, spans=[])
    assert spans_of(station) == []


@pytest.mark.parametrize(("spans", "code"), [
    ([(0, 8 * H, 12 * H), (0, 11 * H, 14 * H)], "overlapping_hours"),
    ([(0, 8 * H, 18 * H), (0, 9 * H, 10 * H)], "overlapping_hours"),
    ([(3, 20 * H, 2 * H), (3, 22 * H, 23 * H)], "overlapping_hours"),
    ([(3, 0, 24 * H), (3, 8 * H, 9 * H)], "overlapping_hours"),
    ([(0, 8 * H, 8 * H)], "invalid_hours"),
    ([(0, 0, 0)], "invalid_hours"),
    ([(7, 8 * H, 12 * H)], "invalid_hours"),
    ([(-1, 8 * H, 12 * H)], "invalid_hours"),
    ([(0, 24 * H, 12 * H)], "invalid_hours"),
    ([(0, 8 * H, 24 * H + 1)], "invalid_hours"),
    ([(0, -5, 12 * H)], "invalid_hours"),
])
def test_set_hours_refusals_keep_the_old_hours(root, station, spans, code):
    services.station_set_hours(user=root, station_id=station.pk, spans=[(0, 9 * H, 17 * H)])
    with pytest.raises(ServiceError) as exc:
        services.station_set_hours(user=root, station_id=station.pk, spans=spans)
    assert exc.value.code == code
    assert spans_of(station) == [(0, 9 * H, 17 * H)]


def test_overnight_span_must_not_overlap_the_next_days_first_span(root, station):
    """Monday 20:00–04:00 runs into Tuesday: a Tuesday span from 02:00 double-books it."""
    with pytest.raises(ServiceError) as exc:
        services.station_set_hours(user=root, station_id=station.pk,
                                   spans=[(0, 20 * H, 4 * H), (1, 2 * H, 10 * H)])
    assert exc.value.code == "overlapping_hours"
    # Sunday night into Monday morning wraps the same way.
    with pytest.raises(ServiceError):
        services.station_set_hours(user=root, station_id=station.pk,
                                   spans=[(6, 22 * H, 6 * H), (0, 5 * H, 12 * H)])
    # Touching is fine.
    services.station_set_hours(user=root, station_id=station.pk,
                               spans=[(0, 20 * H, 4 * H), (1, 4 * H, 10 * H)])


# --- exceptions ----------------------------------------------------------------------------

DAY = date(2026, 2, 17)  # 春节


def test_add_closed_exception(root, station):
    exc = services.station_add_exception(user=root, station_id=station.pk, day=DAY, closed=True,
                                         reason="  春节  ")
    assert (exc.closed, exc.opens, exc.closes, exc.reason) == (True, None, None, "春节")


def test_add_special_hours_exceptions(root, station):
    services.station_add_exception(user=root, station_id=station.pk, day=DAY, closed=False,
                                   opens=8 * H, closes=12 * H)
    services.station_add_exception(user=root, station_id=station.pk, day=DAY, closed=False,
                                   opens=18 * H, closes=2 * H)
    assert list(ScheduleException.objects.filter(station=station)
                .values_list("opens", "closes")) == [(8 * H, 12 * H), (18 * H, 2 * H)]


def test_special_hours_conflicts(root, station):
    services.station_add_exception(user=root, station_id=station.pk, day=DAY, closed=False,
                                   opens=8 * H, closes=12 * H)
    with pytest.raises(ServiceError) as exc:
        services.station_add_exception(user=root, station_id=station.pk, day=DAY, closed=False,
                                       opens=11 * H, closes=13 * H)
    assert exc.value.code == "overlapping_hours"
    with pytest.raises(ServiceError) as exc:
        services.station_add_exception(user=root, station_id=station.pk, day=DAY, closed=False,
                                       opens=8 * H, closes=10 * H)
    assert exc.value.code == "overlapping_hours"
    with pytest.raises(ServiceError) as exc:
        services.station_add_exception(user=root, station_id=station.pk, day=DAY, closed=False,
                                       opens=9 * H, closes=9 * H)
    assert exc.value.code == "invalid_hours"
    with pytest.raises(ServiceError) as exc:
        services.station_add_exception(user=root, station_id=station.pk, day=DAY, closed=False,
                                       opens=9 * H, closes=None)
    assert exc.value.code == "invalid_hours"
    assert ScheduleException.objects.filter(station=station).count() == 1


def test_hours_on_a_closed_day_conflict(root, station):
    services.station_add_exception(user=root, station_id=station.pk, day=DAY, closed=True)
    with pytest.raises(ServiceError) as exc:
        services.station_add_exception(user=root, station_id=station.pk, day=DAY, closed=False,
                                       opens=8 * H, closes=12 * H)
    assert exc.value.code == "exception_conflict"
    assert exc.value.status == 409
    assert list(ScheduleException.objects.filter(station=station)
                .values_list("closed", flat=True)) == [True]


def test_closing_a_day_replaces_its_special_hours(root, station):
    services.station_add_exception(user=root, station_id=station.pk, day=DAY, closed=False,
                                   opens=8 * H, closes=12 * H)
    services.station_add_exception(user=root, station_id=station.pk, day=DAY, closed=True)
    assert list(ScheduleException.objects.filter(station=station)
                .values_list("closed", "opens")) == [(True, None)]


def test_closing_a_closed_day_twice_keeps_one_row(root, station):
    services.station_add_exception(user=root, station_id=station.pk, day=DAY, closed=True)
    services.station_add_exception(user=root, station_id=station.pk, day=DAY, closed=True)
    assert ScheduleException.objects.filter(station=station, date=DAY).count() == 1


def test_remove_exception(root, station):
    exc = services.station_add_exception(user=root, station_id=station.pk, day=DAY, closed=True)
    version = current_index_version()
    services.station_remove_exception(user=root, station_id=station.pk, exception_id=exc.pk)
    assert not ScheduleException.objects.filter(pk=exc.pk).exists()
    assert current_index_version() != version
    with pytest.raises(NotFound) as err:
        services.station_remove_exception(user=root, station_id=station.pk, exception_id=exc.pk)
    assert err.value.code == "exception_not_found"


def test_remove_exception_of_another_station(root, station):
    other = make_station(user=root)
    exc = services.station_add_exception(user=root, station_id=other.pk, day=DAY, closed=True)
    with pytest.raises(NotFound):
        services.station_remove_exception(user=root, station_id=station.pk, exception_id=exc.pk)
    assert ScheduleException.objects.filter(pk=exc.pk).exists()


# --- check-in ------------------------------------------------------------------------------


@pytest.fixture
def worker():
    return WorkerFactory(home_region_code=None)


def test_checkin_records_once_per_hour(station, worker):
    token = qr.station_token(station.pk)
    first = services.checkin_record(worker=worker, token=token)
    assert first.recorded is True
    assert first.station == station
    assert CheckIn.objects.filter(worker=worker, station=station).count() == 1

    again = services.checkin_record(worker=worker, token=token)
    assert again.recorded is False
    assert again.checkin == first.checkin
    assert CheckIn.objects.count() == 1

    CheckIn.objects.filter(pk=first.checkin.pk).update(at=timezone.now() - timedelta(minutes=61))
    later = services.checkin_record(worker=worker, token=token)
    assert later.recorded is True
    assert CheckIn.objects.filter(worker=worker, station=station).count() == 2


def test_checkin_limit_is_per_station_and_per_worker(root, station, worker):
    other_station = make_station(user=root)
    other_worker = WorkerFactory(home_region_code=None)
    assert services.checkin_record(worker=worker, token=qr.station_token(station.pk)).recorded
    assert services.checkin_record(worker=worker,
                                   token=qr.station_token(other_station.pk)).recorded
    assert services.checkin_record(worker=other_worker,
                                   token=qr.station_token(station.pk)).recorded
    assert CheckIn.objects.count() == 3


def test_checkin_does_not_bump_the_nearby_index(station, worker):
    version = current_index_version()
    services.checkin_record(worker=worker, token=qr.station_token(station.pk))
    assert current_index_version() == version
    assert StationIndexVersion.objects.count() == 1




def test_simultaneous_scans_record_one_visit():
    """Eight scans of the same code by one worker at the same moment count once.
    Needs real concurrent writers, so PostgreSQL only (SQLite serialises them anyway)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    from nuanxin.accounts.models import User

    def setup():
        worker = WorkerFactory(profile=None)
        station = StationFactory(name="并发测试站", hours=[])
        return worker.pk, station.pk

    worker_id, station_id = committed(setup)
    try:
        token = qr.station_token(station_id)
        barrier = threading.Barrier(8)
        outcomes: list = []

        def scan():
            try:
                worker = User.objects.get(pk=worker_id)
                barrier.wait(10)
                outcomes.append(services.checkin_record(worker=worker, token=token).recorded)
            except Exception as exc:
                outcomes.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=scan) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(outcomes, key=str) == [False] * 7 + [True], outcomes
        assert committed(lambda: CheckIn.objects.filter(station_id=station_id).count()) == 1
    finally:
        def cleanup():
            CheckIn.objects.filter(station_id=station_id).delete()
            Station.objects.filter(pk=station_id).delete()
            User.objects.filter(pk=worker_id).delete()

        committed(cleanup)


def tamper(token: str) -> list[str]:
    """Variants of a token with one character changed, in the payload and the signature."""
    variants = []
    for i in (1, len(token) // 2, token.rindex(":") + 1):
        ch = token[i]
        variants.append(token[:i] + ("A" if ch != "A" else "B") + token[i + 1:])
    return variants


def test_forged_tokens_are_refused(station, worker):
    token = qr.station_token(station.pk)
    for forged in tamper(token):
        assert forged != token
        with pytest.raises(ServiceError) as exc:
            services.checkin_record(worker=worker, token=forged)
        assert exc.value.code == "qr_invalid"
    assert CheckIn.objects.count() == 0


def test_a_token_for_another_station_cannot_be_made_from_one(root, station, worker):
    other = make_station(user=root)
    good = qr.station_token(station.pk)
    payload, _sep, rest = good.partition(":")
    forged_payload = signing.dumps({"s": other.pk}, salt="attacker", compress=True)
    forged = forged_payload.split(":")[0] + ":" + rest
    with pytest.raises(ServiceError) as exc:
        services.checkin_record(worker=worker, token=forged)
    assert exc.value.code == "qr_invalid"


@pytest.mark.parametrize("token", ["", "hello", "1", ":", "a:b:c", "x" * 500,
                                   '{"s": 1}', "签到"])
def test_garbage_tokens_are_refused(worker, token):
    with pytest.raises(ServiceError) as exc:
        services.checkin_record(worker=worker, token=token)
    assert exc.value.code == "qr_invalid"


def test_token_of_another_purpose_is_refused(station, worker):
    for token in (
        signing.dumps({"s": station.pk}),  # default salt
        signing.dumps({"s": station.pk}, salt="django.contrib.sessions"),
        signing.dumps({"s": station.pk}, salt="nuanxin.accounts.login"),
        signing.Signer(salt=qr.CHECKIN.salt).sign_object({"s": station.pk}),  # no timestamp
    ):
        with pytest.raises(ServiceError) as exc:
            services.checkin_record(worker=worker, token=token)
        assert exc.value.code == "qr_invalid"
    assert CheckIn.objects.count() == 0


def test_signed_but_malformed_payload_is_refused(worker):
    for payload in ({"s": "1"}, {"station": 1}, [1], 1, {"s": None}, {"s": 1.5}):
        token = signing.dumps(payload, salt=qr.CHECKIN.salt, compress=True)
        with pytest.raises(ServiceError) as exc:
            services.checkin_record(worker=worker, token=token)
        assert exc.value.code == "qr_invalid"


def test_expired_token_by_max_age(station):
    token = qr.station_token(station.pk)
    assert qr.station_id_from_token(token) == station.pk
    time.sleep(1.1)
    with pytest.raises(ServiceError) as exc:
        qr.station_id_from_token(token, max_age=0)
    assert exc.value.code == "qr_expired"


class _OldSigner(signing.TimestampSigner):
    """Signs as if it were four years ago — older than a printed code may live."""

    def timestamp(self):
        return signing.b62_encode(int(time.time()) - 4 * 365 * 24 * 3600)


def test_expired_token_is_refused_at_checkin(station, worker):
    token = _OldSigner(salt=qr.CHECKIN.salt).sign_object({"s": station.pk}, compress=True)
    with pytest.raises(ServiceError) as exc:
        services.checkin_record(worker=worker, token=token)
    assert exc.value.code == "qr_expired"
    assert str(exc.value.message)
    assert CheckIn.objects.count() == 0


def test_staff_cannot_check_in(station):
    staff = StaffFactory(region_code=YIJIASHAN)
    with pytest.raises(PermissionDenied) as exc:
        services.checkin_record(worker=staff, token=qr.station_token(station.pk))
    assert exc.value.code == "workers_only"
    assert CheckIn.objects.count() == 0


def test_superuser_cannot_check_in(root, station):
    with pytest.raises(PermissionDenied):
        services.checkin_record(worker=root, token=qr.station_token(station.pk))


def test_inactive_station_refuses_checkin(root, station, worker):
    services.station_update(user=root, station_id=station.pk,
                            data=replace(station_data(), is_active=False))
    with pytest.raises(NotFound) as exc:
        services.checkin_record(worker=worker, token=qr.station_token(station.pk))
    assert exc.value.code == "station_not_found"
    assert CheckIn.objects.count() == 0


def test_deleted_station_refuses_checkin(worker):
    with pytest.raises(NotFound):
        services.checkin_record(worker=worker, token=qr.station_token(987_654))


# --- holiday campaigns: what they tell the nearby index ------------------------------------

def _campaign_log() -> list[tuple]:
    return list(StationChange.objects.order_by("seq").values_list(
        "seq", "station_pk", "station_pks", "campaign_pk"))


def test_every_campaign_write_logs_one_row_naming_the_campaign(root):
    stations = [make_station(user=root, point=(YIJIASHAN_POINT[0] + i / 1000,
                                               YIJIASHAN_POINT[1])) for i in range(3)]
    a, b, c = (s.pk for s in stations)
    start = date.today() + timedelta(days=30)
    StationChange.objects.all().delete()

    def logged(write) -> tuple:
        before = current_index_version()
        write()
        rows = _campaign_log()
        StationChange.objects.all().delete()
        if current_index_version() == before:
            return ()
        ((seq, station_pk, packed, campaign_pk),) = rows  # one row, whatever the size
        assert seq == current_index_version() and station_pk is None
        return campaign_pk, sorted(int(i) for i in packed.split(","))

    campaign = services.campaign_create(user=root, name="春节不打烊", region_code=YIJIASHAN,
                                        starts_on=start, ends_on=start + timedelta(days=6),
                                        station_ids=[a, b])
    assert logged(lambda: None) == ()
    pk = campaign.pk
    # Those that joined or left; a station that stays is not listed.
    assert logged(lambda: services.campaign_set_stations(
        user=root, campaign_id=pk, station_ids=[b, c])) == (pk, [a, c])
    assert logged(lambda: services.campaign_add_stations(
        user=root, campaign_id=pk, station_ids=[a])) == (pk, [a])
    assert logged(lambda: services.campaign_remove_station(
        user=root, campaign_id=pk, station_id=c)) == (pk, [c])
    # New dates or hours: every member; a new name alone: nothing for the index.
    assert logged(lambda: services.campaign_update(
        user=root, campaign_id=pk, name="春节“不打烊”", starts_on=start,
        ends_on=start + timedelta(days=6), opens=0, closes=24 * H)) == ()
    assert logged(lambda: services.campaign_update(
        user=root, campaign_id=pk, name="春节“不打烊”", starts_on=start,
        ends_on=start + timedelta(days=3), opens=8 * H, closes=22 * H)) == (pk, [a, b])
    campaign.refresh_from_db()
    assert (campaign.name, campaign.ends_on, campaign.opens, campaign.closes) == (
        "春节“不打烊”", start + timedelta(days=3), 8 * H, 22 * H)
    assert logged(lambda: services.campaign_delete(user=root, campaign_id=pk)) == (pk, [a, b])
    assert not HolidayCampaign.objects.filter(pk=pk).exists()
    assert list(AuditLog.objects.filter(object_type="campaign", object_id=str(pk))
                .order_by("pk").values_list("action", flat=True))[-3:] == [
        "stations.campaign.updated", "stations.campaign.updated", "stations.campaign.deleted"]


def test_campaign_edits_are_refused_outside_scope_and_when_invalid(root):
    start = date.today() + timedelta(days=30)
    campaign = services.campaign_create(user=root, name="春节不打烊", region_code=YIJIASHAN,
                                        starts_on=start, ends_on=start + timedelta(days=6))
    elsewhere = StaffFactory(role="district_admin", region_code="330304")  # 瓯海区: not 义乌
    with pytest.raises(NotFound):
        services.campaign_update(user=elsewhere, campaign_id=campaign.pk, name="改",
                                 starts_on=start, ends_on=start, opens=0, closes=24 * H)
    with pytest.raises(NotFound):
        services.campaign_delete(user=elsewhere, campaign_id=campaign.pk)
    with pytest.raises(ServiceError) as refused:
        services.campaign_update(user=root, campaign_id=campaign.pk, name="春节不打烊",
                                 starts_on=start, ends_on=start - timedelta(days=1), opens=0,
                                 closes=24 * H)
    assert refused.value.code == "campaign_dates_reversed"
    campaign.refresh_from_db()
    assert campaign.ends_on == start + timedelta(days=6)
    assert HolidayCampaign.objects.filter(pk=campaign.pk).exists()

"""Staff console for stations: scope, forms, hours, exceptions, campaigns and visits."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.urls import reverse

from nuanxin.accounts.models import StaffRole
from nuanxin.common.errors import NotFound, ServiceError
from nuanxin.stations import qr, selectors, services
from nuanxin.stations.models import (
    CheckIn,
    HolidayCampaign,
    OpeningSpan,
    ScheduleException,
    Station,
)
from nuanxin.stations.nearby import changes
from nuanxin.stations.nearby.search import stations_nearby
from nuanxin.stations.nearby.version import current_index_version
from nuanxin.stations.schedule import status_at
from nuanxin.stations.selectors import local_now
from tests.factories.people import StaffFactory, WorkerFactory, login
from tests.factories.places import (
    CHOUCHENG,
    CHUITAI,
    JINHUA,
    QIANJIANGYUAN,
    ROUND_THE_CLOCK,
    YIJIASHAN,
    YIWU,
    ZHEJIANG,
    StationFactory,
)

pytestmark = pytest.mark.django_db

H = 60


@pytest.fixture
def keeper():
    """Community staff of 义驾山社区 (Yiwu)."""
    return StaffFactory(region_code=YIJIASHAN)


@pytest.fixture
def own(keeper):
    return StationFactory(region_code=YIJIASHAN, name="义驾山社区党群服务中心")


@pytest.fixture
def foreign():
    """A station in 吹台社区 (Wenzhou): outside the keeper's scope."""
    return StationFactory(region_code=CHUITAI, name="吹台社区党群服务中心")


@pytest.fixture
def staff_client(client, keeper):
    return login(client, keeper)


def spans_of(station):
    return list(OpeningSpan.objects.filter(station=station)
                .order_by("weekday", "opens").values_list("weekday", "opens", "closes"))


# --- scope -----------------------------------------------------------------------------------

STATION_PAGES = ["station_detail", "station_edit", "station_hours", "station_exceptions",
                 "station_qr", "station_qr_png", "station_qr_svg"]


@pytest.mark.parametrize("page", STATION_PAGES)
def test_other_communitys_station_is_404_on_every_page(staff_client, own, foreign, page):
    assert staff_client.get(reverse(f"console:{page}", args=[own.pk])).status_code == 200
    response = staff_client.get(reverse(f"console:{page}", args=[foreign.pk]))
    assert response.status_code == 404


def test_404_is_a_friendly_page(staff_client, foreign):
    response = staff_client.get(reverse("console:station_detail", args=[foreign.pk]))
    assert response.status_code == 404
    assert "找不到这个服务阵地" in response.content.decode()
    assert "Traceback" not in response.content.decode()


@pytest.mark.parametrize("page,data", [
    ("station_edit", {"name": "改名", "type": "center", "region": CHUITAI, "lat": 27.9593,
                      "lng": 120.6199}),
    ("station_hours", {"mon": "00:00-24:00"}),
    ("station_exceptions", {"date": "2030-01-01", "mode": "closed"}),
])
def test_other_communitys_station_cannot_be_changed(staff_client, foreign, page, data):
    before = (Station.objects.get(pk=foreign.pk).name, spans_of(foreign))
    response = staff_client.post(reverse(f"console:{page}", args=[foreign.pk]), data)
    assert response.status_code == 404
    assert (Station.objects.get(pk=foreign.pk).name, spans_of(foreign)) == before
    assert not ScheduleException.objects.filter(station=foreign).exists()


# (role, org region) → which of the two stations (义驾山 / 吹台) the console shows.
GRID = [
    (StaffRole.STATION_KEEPER, YIJIASHAN, True, False),
    (StaffRole.COMMUNITY_STAFF, YIJIASHAN, True, False),
    (StaffRole.COMMUNITY_STAFF, QIANJIANGYUAN, False, False),
    (StaffRole.STREET_ADMIN, CHOUCHENG, True, False),
    (StaffRole.DISTRICT_ADMIN, YIWU, True, False),
    (StaffRole.CITY_ADMIN, JINHUA, True, False),
    (StaffRole.CITY_ADMIN, "330300", False, True),
    (StaffRole.PROVINCE_ADMIN, ZHEJIANG, True, True),
]


@pytest.mark.parametrize("role,region_code,sees_own,sees_foreign", GRID)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_permission_grid(client, own, foreign, role, region_code, sees_own, sees_foreign,
                         method):
    login(client, StaffFactory(role=role, region_code=region_code))
    for station, visible in ((own, sees_own), (foreign, sees_foreign)):
        url = reverse("console:station_hours", args=[station.pk])
        if method == "GET":
            status = client.get(url).status_code
            assert status == (200 if visible else 404)
        else:
            status = client.post(url, {"mon": "09:00-17:00"}).status_code
            assert status == (302 if visible else 404)
            assert ((0, 9 * H, 17 * H) in spans_of(station)) == visible
    listed = [r["station"].pk for r in client.get(reverse("console:stations")).context["rows"]]
    assert (own.pk in listed) == sees_own
    assert (foreign.pk in listed) == sees_foreign


def test_console_needs_staff(client, own):
    response = client.get(reverse("console:stations"))
    assert response.status_code == 302
    worker = WorkerFactory(profile=None)
    client.force_login(worker)
    assert client.get(reverse("console:station_detail", args=[own.pk])).status_code == 302


def test_admin_without_second_factor_is_sent_to_totp(client, own):
    admin = StaffFactory(role=StaffRole.DISTRICT_ADMIN, region_code=YIWU)
    client.force_login(admin)
    response = client.get(reverse("console:station_detail", args=[own.pk]))
    assert response.status_code == 302
    assert reverse("accounts:staff_totp") in response["Location"]


# --- list ------------------------------------------------------------------------------------

def test_list_shows_scope_search_open_now_and_visits(staff_client, own, foreign):
    closed = StationFactory(region_code=YIJIASHAN, name="夜里关门的驿站", hours=[])
    open_all_day = StationFactory(region_code=YIJIASHAN, name="全天驿站", hours=ROUND_THE_CLOCK)
    worker = WorkerFactory(profile=None)
    services.checkin_record(worker=worker, token=qr.station_token(open_all_day.pk))
    response = staff_client.get(reverse("console:stations"))
    body = response.content.decode()
    assert response.status_code == 200
    assert own.name in body and closed.name in body and foreign.name not in body
    rows = {r["station"].pk: r for r in response.context["rows"]}
    assert rows[open_all_day.pk]["status"].open_now is True
    assert rows[closed.pk]["status"].open_now is False
    assert rows[open_all_day.pk]["station"].visits_today == 1
    assert rows[closed.pk]["station"].visits_today == 0
    assert own.region.name in body and "营业中" in body and "已关门" in body

    found = staff_client.get(reverse("console:stations"), {"q": "全天"})
    assert [r["station"].pk for r in found.context["rows"]] == [open_all_day.pk]


def test_list_paginates_by_50_within_a_query_budget(staff_client, keeper,
                                                    django_assert_max_num_queries):
    StationFactory.create_batch(55, region_code=YIJIASHAN)
    StationFactory(region_code=CHUITAI)
    with django_assert_max_num_queries(12):
        first = staff_client.get(reverse("console:stations"))
    assert len(first.context["rows"]) == 50
    assert first.context["page"].paginator.count == 55
    second = staff_client.get(reverse("console:stations"), {"page": 2})
    assert len(second.context["rows"]) == 5
    assert staff_client.get(reverse("console:stations"), {"page": "x"}).status_code == 200


# --- create / edit ---------------------------------------------------------------------------

def form_data(**overrides):
    data = {
        "name": "义驾山骑手驿站", "type": "post", "region": YIJIASHAN,
        "address": "稠城街道义驾山路 8 号", "lat": "29.3150", "lng": "120.0790",
        "contact_name": "王姐", "contact_phone": "13900001111",
        "amenities": ["hot_water", "toilet", "microwave"], "night_light": "on",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_create_station_through_the_form(staff_client, keeper):
    page = staff_client.get(reverse("console:station_create"))
    assert page.status_code == 200
    region_choices = [c[0] for c in page.context["form"].fields["region"].widget.choices]
    assert region_choices == ["", YIJIASHAN]  # only the keeper's own region is offered
    assert "WGS-84" in page.content.decode()
    before = current_index_version()
    response = staff_client.post(reverse("console:station_create"), form_data())
    station = Station.objects.get(name="义驾山骑手驿站")
    assert response.status_code == 302
    assert response["Location"] == reverse("console:station_hours", args=[station.pk])
    assert station.type == "post" and station.region_id == YIJIASHAN
    assert sorted(station.amenities) == ["hot_water", "microwave", "toilet"]
    assert station.night_light is True and station.is_active is True
    assert current_index_version() != before


@pytest.mark.parametrize("change,field,message", [
    ({"name": "  "}, "name", ""),
    ({"lat": "abc"}, "lat", ""),
    ({"lat": "27.9593", "lng": "120.6199"}, "region", "坐标不在所选区划内"),
    ({"lat": "31.5", "lng": "126.0"}, "lat", "不在浙江省"),
    ({"region": CHUITAI}, "region", "不在您的管辖范围内"),
    ({"amenities": ["hot_water", "jacuzzi"]}, "amenities", ""),
])
def test_create_errors_are_shown_and_nothing_is_saved(staff_client, change, field, message):
    count = Station.objects.count()
    response = staff_client.post(reverse("console:station_create"), form_data(**change))
    assert response.status_code == 200
    form = response.context["form"]
    assert field in form.errors
    assert message in " ".join(form.errors[field])
    assert "没有保存任何内容" in response.content.decode()
    assert Station.objects.count() == count


def test_edit_station(staff_client, own):
    page = staff_client.get(reverse("console:station_edit", args=[own.pk]))
    assert page.context["form"].initial["name"] == own.name
    response = staff_client.post(reverse("console:station_edit", args=[own.pk]),
                                 form_data(name="义驾山社区党群服务中心（新址）", night_light=""))
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.name == "义驾山社区党群服务中心（新址）"
    assert own.night_light is False


def test_edit_refusal_changes_nothing(staff_client, own):
    response = staff_client.post(reverse("console:station_edit", args=[own.pk]),
                                 form_data(lat="27.9593", lng="120.6199"))
    assert response.status_code == 200
    assert Station.objects.get(pk=own.pk).lat == own.lat


# --- weekly hours ----------------------------------------------------------------------------

def test_hours_editor_shows_current_hours_as_text(staff_client, own):
    services.station_set_hours(user=StaffFactory(), station_id=own.pk,
                               spans=[(0, 8 * H + 30, 12 * H), (0, 14 * H, 20 * H),
                                      (5, 16 * H, 2 * H), (3, 0, 24 * H)])
    form = staff_client.get(reverse("console:station_hours", args=[own.pk])).context["form"]
    assert form.initial["mon"] == "08:30-12:00, 14:00-20:00"
    assert form.initial["sat"] == "16:00-02:00"
    assert form.initial["thu"] == "00:00-24:00"
    assert form.initial["tue"] == ""


def test_overnight_and_24h_hours_change_open_now(staff_client, own, api, monkeypatch):
    url = reverse("console:station_hours", args=[own.pk])
    # Monday 16:00 until 02:00 on Tuesday, Wednesday round the clock, the rest closed.
    response = staff_client.post(url, {"mon": "16:00-02:00", "wed": "00:00–24:00"})
    assert response.status_code == 302
    assert spans_of(own) == [(0, 16 * H, 2 * H), (2, 0, 24 * H)]

    schedule = selectors.schedule_of(own)
    monday = date(2030, 1, 7)
    assert monday.weekday() == 0
    assert status_at(schedule, datetime(2030, 1, 7, 15, 59)).open_now is False
    assert status_at(schedule, datetime(2030, 1, 7, 23, 0)).open_now is True
    assert status_at(schedule, datetime(2030, 1, 8, 1, 30)).open_now is True
    assert status_at(schedule, datetime(2030, 1, 8, 2, 0)).open_now is False
    assert status_at(schedule, datetime(2030, 1, 8, 12, 0)).open_now is False
    assert status_at(schedule, datetime(2030, 1, 9, 0, 30)).open_now is True  # Wed
    assert status_at(schedule, datetime(2030, 1, 10, 0, 30)).open_now is False

    # The nearby search sees the same thing (and is rebuilt after the write).
    monkeypatch.setattr(changes, "_index", None)
    point = {"lat": own.lat, "lng": own.lng, "limit": 5, "radius_m": 1000, "open_now": True}
    hits = stations_nearby(**point, now=datetime(2030, 1, 7, 23, 0))
    assert [h.station.id for h in hits] == [own.pk]
    assert stations_nearby(**point, now=datetime(2030, 1, 10, 12, 0)) == []

    # Round the clock every day → the API says open now; closed every day → closed.
    staff_client.post(url, {f: "00:00-24:00" for f in
                            ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]})
    assert api.get(f"/api/v1/stations/{own.pk}").json()["open_now"] is True
    staff_client.post(url, {})
    assert spans_of(own) == []
    assert api.get(f"/api/v1/stations/{own.pk}").json()["open_now"] is False
    open_now = api.get("/api/v1/stations/nearby",
                       {"lat": own.lat, "lng": own.lng, "open_now": "true"}).json()
    assert own.pk not in [r["id"] for r in open_now["results"]]


@pytest.mark.parametrize("text,message", [
    ("8:30-25:00", "关门时间不对"),
    ("abc", "看不懂"),
    ("08:00-12:00, 11:00-14:00", "不能重叠"),
    ("09:00-09:00", "相同"),
    ("24:00-08:00", "开门时间不对"),
])
def test_bad_hours_are_explained_and_not_saved(staff_client, own, text, message):
    before = spans_of(own)
    response = staff_client.post(reverse("console:station_hours", args=[own.pk]),
                                 {"mon": "08:00-20:00", "wed": text})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["wed"]
    assert message in errors["wed"][0]
    assert spans_of(own) == before


def test_overnight_span_into_the_next_days_hours_is_refused(staff_client, own):
    before = spans_of(own)
    response = staff_client.post(reverse("console:station_hours", args=[own.pk]),
                                 {"sun": "20:00-03:00", "mon": "02:00-10:00"})
    assert response.status_code == 200
    assert "周日" in response.context["form"].errors["mon"][0]
    assert spans_of(own) == before


def test_hours_text_is_forgiving(staff_client, own):
    response = staff_client.post(reverse("console:station_hours", args=[own.pk]), {
        "mon": "８:30－12:00，14：00~20:00".replace("８", "8"),
        "tue": "全天", "wed": "休息", "thu": " 09:00 - 17:00 ", "fri": "20:00-00:00",
    })
    assert response.status_code == 302
    assert spans_of(own) == [(0, 8 * H + 30, 12 * H), (0, 14 * H, 20 * H), (1, 0, 24 * H),
                             (3, 9 * H, 17 * H), (4, 20 * H, 24 * H)]


def test_copy_monday_to_every_day(staff_client, own):
    before = spans_of(own)
    response = staff_client.post(reverse("console:station_hours", args=[own.pk]),
                                 {"action": "copy_monday", "mon": "07:00-23:00", "tue": "x"})
    assert response.status_code == 200
    assert response.context["copied"] is True
    form = response.context["form"]
    assert all(form.initial[d] == "07:00-23:00"
               for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
    assert spans_of(own) == before  # copied into the form, saved only on "保存"


# --- exceptions ------------------------------------------------------------------------------

def test_exceptions_add_and_remove(staff_client, own):
    url = reverse("console:station_exceptions", args=[own.pk])
    day = local_now().date() + timedelta(days=3)
    response = staff_client.post(url, {"date": day.isoformat(), "mode": "closed",
                                       "reason": "设备检修"})
    assert response.status_code == 302
    closed = ScheduleException.objects.get(station=own, date=day)
    assert closed.closed and closed.reason == "设备检修"
    assert selectors.schedule_of(own).spans_on(day) == []

    other_day = day + timedelta(days=1)
    response = staff_client.post(url, {"date": other_day.isoformat(), "mode": "hours",
                                       "hours": "10:00-16:00"})
    assert response.status_code == 302
    assert selectors.schedule_of(own).spans_on(other_day) == [(10 * H, 16 * H)]
    page = staff_client.get(url).content.decode()
    assert "设备检修" in page and "10:00–16:00" in page

    # Special hours on a closed day conflict; the reason is shown, nothing is added.
    response = staff_client.post(url, {"date": day.isoformat(), "mode": "hours",
                                       "hours": "10:00-12:00"})
    assert response.status_code == 200
    assert "全天关闭" in str(response.context["form"].errors)
    assert ScheduleException.objects.filter(station=own).count() == 2

    response = staff_client.post(reverse("console:station_exception_delete",
                                         args=[own.pk, closed.pk]))
    assert response.status_code == 302
    assert not ScheduleException.objects.filter(pk=closed.pk).exists()


def test_exception_needs_hours_for_special_hours(staff_client, own):
    response = staff_client.post(reverse("console:station_exceptions", args=[own.pk]),
                                 {"date": "2030-01-01", "mode": "hours", "hours": ""})
    assert response.status_code == 200
    assert "hours" in response.context["form"].errors
    assert not ScheduleException.objects.exists()


def test_cannot_remove_another_scopes_exception(staff_client, own, foreign):
    root = StaffFactory(role=StaffRole.PROVINCE_ADMIN, region_code=ZHEJIANG)
    exc = services.station_add_exception(user=root, station_id=foreign.pk,
                                         day=date(2030, 1, 1), closed=True)
    for station in (foreign, own):  # also through a station in scope
        response = staff_client.post(reverse("console:station_exception_delete",
                                             args=[station.pk, exc.pk]))
        assert response.status_code == 404
    assert ScheduleException.objects.filter(pk=exc.pk).exists()


# --- holiday campaigns -----------------------------------------------------------------------

def spring_festival():
    start = local_now().date() + timedelta(days=10)
    return start, start + timedelta(days=7)


def test_campaign_through_the_console(client, own, foreign):
    admin = StaffFactory(role=StaffRole.DISTRICT_ADMIN, region_code=YIWU)
    login(client, admin)
    second = StationFactory(region_code=YIJIASHAN, name="义驾山第二驿站", hours=[])
    starts_on, ends_on = spring_festival()
    before = current_index_version()
    response = client.post(reverse("console:campaigns"), {
        "name": "春节不打烊", "region": YIWU, "starts_on": starts_on.isoformat(),
        "ends_on": ends_on.isoformat(), "hours": "00:00-24:00"})
    assert response.status_code == 302
    campaign = HolidayCampaign.objects.get(name="春节不打烊")
    assert (campaign.opens, campaign.closes) == (0, 24 * H)
    # No station joined yet: no station's hours changed, the nearby index has nothing to do.
    assert current_index_version() == before

    page = client.get(reverse("console:campaign_detail", args=[campaign.pk]))
    candidates = [s.pk for s in page.context["candidates"]]
    assert own.pk in candidates and second.pk in candidates and foreign.pk not in candidates

    response = client.post(reverse("console:campaign_detail", args=[campaign.pk]),
                           {"action": "add", "station": [second.pk]})
    assert response.status_code == 302
    assert list(campaign.stations.values_list("pk", flat=True)) == [second.pk]
    # A station that is never open is open round the clock during the campaign.
    schedule = selectors.schedule_of(second)
    assert schedule.spans_on(starts_on) == [(0, 24 * H)]
    assert status_at(schedule, datetime.combine(starts_on, datetime.min.time())
                     + timedelta(hours=3)).open_now is True
    assert "春节不打烊" in client.get(reverse("console:campaigns")).content.decode()

    # A foreign station cannot be pushed in by id.
    response = client.post(reverse("console:campaign_detail", args=[campaign.pk]),
                           {"action": "add", "station": [foreign.pk]})
    assert response.status_code == 404
    assert not campaign.stations.filter(pk=foreign.pk).exists()

    client.post(reverse("console:campaign_detail", args=[campaign.pk]), {"action": "add_all"})
    assert set(campaign.stations.values_list("pk", flat=True)) == {own.pk, second.pk}

    response = client.post(reverse("console:campaign_remove_station",
                                   args=[campaign.pk, second.pk]))
    assert response.status_code == 302
    assert list(campaign.stations.values_list("pk", flat=True)) == [own.pk]
    assert selectors.schedule_of(second).spans_on(starts_on) == []


def test_campaign_form_errors(client):
    login(client, StaffFactory(role=StaffRole.STREET_ADMIN, region_code=CHOUCHENG))
    starts_on, ends_on = spring_festival()
    base = {"name": "春节不打烊", "region": CHOUCHENG, "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat(), "hours": "00:00-24:00"}
    for change, field in [
        ({"ends_on": (starts_on - timedelta(days=1)).isoformat()}, "ends_on"),
        ({"hours": "25:00-26:00"}, "hours"),
        ({"region": CHUITAI}, "region"),
        ({"region": YIWU}, "region"),  # the district is above a street's scope
    ]:
        response = client.post(reverse("console:campaigns"), {**base, **change})
        assert response.status_code == 200, change
        assert field in response.context["form"].errors, change
    assert not HolidayCampaign.objects.exists()


def _campaign_with(station, user):
    starts_on, ends_on = spring_festival()
    campaign = services.campaign_create(user=user, name="春节不打烊", region_code=YIJIASHAN,
                                        starts_on=starts_on, ends_on=ends_on,
                                        opens=8 * H, closes=22 * H)
    services.campaign_set_stations(user=user, campaign_id=campaign.pk, station_ids=[station.pk])
    return campaign


def test_a_campaigns_hours_and_dates_are_changed_from_its_page(staff_client, keeper, own):
    campaign = _campaign_with(own, keeper)
    starts_on, _ends_on = spring_festival()
    detail = staff_client.get(reverse("console:campaign_detail", args=[campaign.pk]))
    edit_url = reverse("console:campaign_edit", args=[campaign.pk])
    assert edit_url in detail.content.decode()
    form = staff_client.get(edit_url).content.decode()
    assert 'value="08:00-22:00"' in form and 'value="春节不打烊"' in form
    assert f'value="{starts_on.isoformat()}"' in form  # what a date input can show

    response = staff_client.post(edit_url, {
        "name": "春节不打烊（延长）", "starts_on": starts_on.isoformat(),
        "ends_on": (starts_on + timedelta(days=3)).isoformat(), "hours": "07:00-23:30"})
    assert response.status_code == 302
    assert response["Location"] == reverse("console:campaign_detail", args=[campaign.pk])
    campaign.refresh_from_db()
    assert (campaign.name, campaign.opens, campaign.closes) == (
        "春节不打烊（延长）", 7 * H, 23 * H + 30)
    # The station keeps the new hours during the campaign, and its own after the new end.
    schedule = selectors.schedule_of(own)
    assert schedule.spans_on(starts_on) == [(7 * H, 23 * H + 30)]
    assert schedule.spans_on(starts_on + timedelta(days=5)) != [(7 * H, 23 * H + 30)]
    assert "07:00–23:30" in staff_client.get(response["Location"]).content.decode()


def test_a_bad_campaign_change_is_explained_and_changes_nothing(staff_client, keeper, own):
    campaign = _campaign_with(own, keeper)
    starts_on, ends_on = spring_festival()
    version = current_index_version()
    response = staff_client.post(reverse("console:campaign_edit", args=[campaign.pk]), {
        "name": "春节不打烊", "starts_on": starts_on.isoformat(),
        "ends_on": (starts_on - timedelta(days=1)).isoformat(), "hours": "08:00-22:00"})
    assert response.status_code == 200
    assert "ends_on" in response.context["form"].errors
    campaign.refresh_from_db()
    assert campaign.ends_on == ends_on and current_index_version() == version


def test_a_campaign_is_deleted_and_its_stations_keep_their_own_hours(staff_client, keeper,
                                                                      own):
    campaign = _campaign_with(own, keeper)
    starts_on, _ends_on = spring_festival()
    own_hours = selectors.schedule_of(own).spans_on(starts_on - timedelta(days=7))
    response = staff_client.post(reverse("console:campaign_delete", args=[campaign.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("console:campaigns")
    assert not HolidayCampaign.objects.filter(pk=campaign.pk).exists()
    assert selectors.schedule_of(own).spans_on(starts_on - timedelta(days=7)) == own_hours
    listing = staff_client.get(response["Location"]).content.decode()
    assert "已删除活动“春节不打烊”" in listing


def test_another_regions_campaign_cannot_be_changed_or_deleted(client, own, foreign):
    wenzhou = StaffFactory(region_code=CHUITAI)
    starts_on, ends_on = spring_festival()
    campaign = services.campaign_create(user=wenzhou, name="吹台不打烊", region_code=CHUITAI,
                                        starts_on=starts_on, ends_on=ends_on,
                                        opens=0, closes=24 * H)
    login(client, StaffFactory(region_code=YIJIASHAN))
    assert client.get(reverse("console:campaign_edit", args=[campaign.pk])).status_code == 404
    assert client.post(reverse("console:campaign_delete",
                               args=[campaign.pk])).status_code == 404
    assert HolidayCampaign.objects.filter(pk=campaign.pk, name="吹台不打烊").exists()


def test_campaign_services_check_scope_and_dates(own, foreign):
    keeper = StaffFactory(region_code=YIJIASHAN)
    starts_on, ends_on = spring_festival()
    with pytest.raises(NotFound):
        services.campaign_create(user=keeper, name="春节", region_code=CHUITAI,
                                 starts_on=starts_on, ends_on=ends_on)
    for kwargs, code in [
        ({"starts_on": ends_on, "ends_on": starts_on}, "campaign_dates_reversed"),
        ({"starts_on": date(2020, 1, 1), "ends_on": date(2020, 1, 7)}, "campaign_in_past"),
        ({"starts_on": starts_on, "ends_on": starts_on + timedelta(days=200)},
         "campaign_too_long"),
        ({"starts_on": starts_on, "ends_on": ends_on, "name": " "}, "name_required"),
        ({"starts_on": starts_on, "ends_on": ends_on, "opens": 600, "closes": 600},
         "invalid_hours"),
    ]:
        with pytest.raises(ServiceError) as caught:
            services.campaign_create(user=keeper, **{"name": "春节", "region_code": YIJIASHAN,
                                                     **kwargs})
        assert caught.value.code == code
    assert not HolidayCampaign.objects.exists()

    campaign = services.campaign_create(user=keeper, name="春节", region_code=YIJIASHAN,
                                        starts_on=starts_on, ends_on=ends_on,
                                        station_ids=[own.pk])
    with pytest.raises(NotFound):
        services.campaign_set_stations(user=keeper, campaign_id=campaign.pk,
                                       station_ids=[own.pk, foreign.pk])
    assert list(campaign.stations.all()) == [own]
    before = current_index_version()
    services.campaign_set_stations(user=keeper, campaign_id=campaign.pk, station_ids=[])
    assert not campaign.stations.exists()
    assert current_index_version() != before

    # Staff elsewhere do not see the campaign at all.
    wenzhou = StaffFactory(region_code=CHUITAI)
    with pytest.raises(NotFound):
        services.campaign_set_stations(user=wenzhou, campaign_id=campaign.pk,
                                       station_ids=[foreign.pk])


def test_campaign_of_another_scope_is_404(client, foreign):
    wenzhou = StaffFactory(region_code=CHUITAI)
    starts_on, ends_on = spring_festival()
    campaign = services.campaign_create(user=wenzhou, name="吹台春节", region_code=CHUITAI,
                                        starts_on=starts_on, ends_on=ends_on,
                                        station_ids=[foreign.pk])
    login(client, StaffFactory(region_code=YIJIASHAN))
    assert client.get(reverse("console:campaign_detail", args=[campaign.pk])).status_code == 404
    assert "吹台春节" not in client.get(reverse("console:campaigns")).content.decode()
    response = client.post(reverse("console:campaign_remove_station",
                                   args=[campaign.pk, foreign.pk]))
    assert response.status_code == 404
    assert campaign.stations.filter(pk=foreign.pk).exists()


# --- today's visits --------------------------------------------------------------------------

def test_station_page_shows_todays_visits_with_masked_phones(staff_client, own):
    token = qr.station_token(own.pk)
    workers = [WorkerFactory(profile=None, phone="13812345678"),
               WorkerFactory(profile=None, phone="13987654321")]
    for worker in workers:
        services.checkin_record(worker=worker, token=token)
    services.checkin_record(worker=workers[0], token=token)  # a repeat within the hour
    CheckIn.objects.create(station=own, worker=workers[1],
                           at=CheckIn.objects.first().at - timedelta(days=2))
    response = staff_client.get(reverse("console:station_detail", args=[own.pk]))
    body = response.content.decode()
    assert response.context["visits_today"] == selectors.visits_today(own) == 2
    assert "138****5678" in body and "139****4321" in body
    assert "13812345678" not in body and "13987654321" not in body
    assert len(response.context["recent_checkins"]) == 3

"""The foundation's journeys, clicked through in chromium at 360 px on a live server."""

import re

import pytest
from playwright.sync_api import expect

from nuanxin.accounts.models import User
from nuanxin.stations import services
from nuanxin.stations.models import CheckIn
from nuanxin.stations.qr import station_token
from tests.factories.people import STAFF_PASSWORD, StaffFactory, SuperuserFactory
from tests.factories.places import YIJIASHAN, YIJIASHAN_POINT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



@pytest.fixture
def stations(regions):
    """Three stations around 义驾山 at known distances, open round the clock."""
    root = SuperuserFactory()
    made = []
    for name, dlat in [("义驾山社区党群服务中心", 0.0005), ("稠城暖新驿站", 0.004),
                       ("远一点的驿站", 0.02)]:
        station = services.station_create(user=root, data=services.StationData(
            name=name, type="center", region_code=YIJIASHAN,
            lat=YIJIASHAN_POINT[0] + dlat, lng=YIJIASHAN_POINT[1],
            amenities=("hot_water", "microwave", "phone_charging"),
        ))
        services.station_set_hours(user=root, station_id=station.pk,
                                   spans=[(w, 0, 1440) for w in range(7)])
        made.append(station)
    return made


def test_rider_logs_in_by_sms_finds_nearest_station_and_checks_in(new_page, stations,
                                                                  sms_outbox):
    page = new_page(geolocation={"latitude": YIJIASHAN_POINT[0], "longitude": YIJIASHAN_POINT[1]},
                    permissions=["geolocation"])
    page.goto("/accounts/login/?next=/")
    page.fill("input[name=phone]", "13912345678")
    page.get_by_role("button", name="获取验证码").click()
    code = sms_outbox.last_code("13912345678")
    page.fill("input[name=code]", code)
    page.get_by_role("button", name="登录", exact=True).click()
    # A right code from a new number asks for consent to the privacy notice first.
    expect(page.locator("input[name=consent]")).to_be_visible()
    if not page.input_value("input[name=code]"):
        page.fill("input[name=code]", code)
    page.select_option("select[name=occupation]", "food_delivery")
    page.check("input[name=consent]")
    page.get_by_role("button", name="登录", exact=True).click()

    # Home asks the phone for its position and lists the nearest stations, nearest first.
    expect(page.locator("#results")).to_be_visible()
    names = page.locator("#results .name").all_inner_texts()
    assert names == ["义驾山社区党群服务中心", "稠城暖新驿站", "远一点的驿站"]
    expect(page.locator("#results li").first).to_contain_text("营业中")

    page.locator("#results a").first.click()
    expect(page.locator("h1")).to_have_text("义驾山社区党群服务中心")
    expect(page.locator("#amenities")).to_contain_text("微波炉")

    # Scanning the code on the door opens the check-in address.
    page.goto(f"/c/{station_token(stations[0].pk)}/")
    expect(page.locator("#checkin-result")).to_contain_text("签到成功")
    worker = User.objects.get(phone="13912345678")
    assert CheckIn.objects.filter(worker=worker, station=stations[0]).count() == 1

    page.goto(f"/c/{station_token(stations[0].pk)}/")
    expect(page.locator("#checkin-result")).to_contain_text("不重复记录")
    assert CheckIn.objects.filter(worker=worker).count() == 1

    forged = station_token(stations[0].pk)[:-2] + "xx"
    new_page.allow_error_status(forged)
    page.goto(f"/c/{forged}/")
    expect(page.locator("#checkin-result")).to_contain_text("不是暖新服务阵地的有效二维码")


def test_staff_edits_opening_hours_and_rider_sees_them(new_page, stations):
    StaffFactory(username="hezhiqiang")  # community staff of 义驾山社区
    station = stations[0]

    desk = new_page()
    desk.goto("/accounts/staff/login/")
    desk.fill("input[name=username]", "hezhiqiang")
    desk.fill("input[name=password]", STAFF_PASSWORD)
    desk.get_by_role("button", name="登录").click()
    expect(desk).to_have_url(re.compile(r"/console/$"))
    desk.get_by_role("link", name=station.name).first.click()
    desk.goto(f"/console/stations/{station.pk}/hours/")
    for day in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]:
        desk.fill(f"input[name={day}]", "06:00-23:30")
    desk.get_by_role("button", name="保存").click()
    expect(desk.locator(".notice.error")).to_have_count(0)

    rider = new_page()
    rider.goto(f"/stations/{station.pk}/")
    expect(rider.locator("#today-hours")).to_contain_text("06:00–23:30")

"""The worker's "my profile" page."""

import pytest

from nuanxin.accounts.models import WorkerProfile
from tests.factories.people import StaffFactory, WorkerFactory
from tests.factories.places import CHOUCHENG, CHUITAI, YIJIASHAN, YIWU

pytestmark = pytest.mark.django_db

URL = "/accounts/me/"


@pytest.fixture
def worker():
    return WorkerFactory(phone="13912345678", home_region_code=YIJIASHAN,
                         platforms=["美团", "达达"])


@pytest.fixture
def signed_in(client, worker):
    client.force_login(worker)
    return client


def test_the_profile_needs_a_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/accounts/me/"


def test_the_profile_shows_the_number_masked_and_the_home_community_in_full(signed_in):
    html = signed_in.get(URL).content.decode()
    assert "139****5678" in html and "13912345678" not in html
    assert "外卖骑手" in html
    assert "金华市 义乌市 稠城街道 义驾山社区" in html
    assert "下载我的数据" in html and "注销账号" in html
    assert 'value="达达"' in html  # a platform outside the ticks is kept in the text field


def test_changing_name_occupation_and_platforms(signed_in, worker):
    response = signed_in.post(URL, {
        "section": "basic", "display_name": " 阿强 ", "occupation": "courier",
        "platforms": ["顺丰", "京东"], "other_platforms": "达达，闪送",
    })
    assert response.status_code == 302
    worker.refresh_from_db()
    profile = WorkerProfile.objects.get(user=worker)
    assert worker.display_name == "阿强" and profile.occupation == "courier"
    assert profile.platforms == sorted(["顺丰", "京东", "达达", "闪送"])
    assert "个人信息已保存" in signed_in.get(URL).content.decode()


def test_a_bad_occupation_is_shown_not_saved(signed_in, worker):
    response = signed_in.post(URL, {"section": "basic", "occupation": "astronaut"})
    assert response.status_code == 200
    assert 'class="notice error"' in response.content.decode()
    assert WorkerProfile.objects.get(user=worker).occupation == "food_delivery"


def test_choosing_a_community_of_a_district(signed_in, worker):
    html = signed_in.get(URL + "?district=330304").content.decode()
    assert 'value="330304001001"' in html and "吹台社区" in html
    response = signed_in.post(URL, {"section": "home", "home_region": CHUITAI})
    assert response.status_code == 302
    assert WorkerProfile.objects.get(user=worker).home_region_id == CHUITAI


def test_searching_a_community_by_name(signed_in):
    html = signed_in.get(URL + "?q=钱江苑").content.decode()
    assert 'value="330102001001"' in html and "四季青街道" in html


def test_the_district_list_covers_zhejiang(signed_in):
    html = signed_in.get(URL).content.decode()
    assert html.count('<optgroup label="') == 11
    assert 'value="330782" selected' in html  # the worker's own district


def test_only_a_community_can_be_home(signed_in, worker):
    for code in (YIWU, CHOUCHENG, "999999999999", "x" * 40):
        response = signed_in.post(URL, {"section": "home", "home_region": code})
        assert response.status_code == 200
        assert "请选择一个社区" in response.content.decode()
    assert WorkerProfile.objects.get(user=worker).home_region_id == YIJIASHAN


def test_clearing_the_home_community(signed_in, worker):
    signed_in.post(URL, {"section": "home", "home_region": ""})
    assert WorkerProfile.objects.get(user=worker).home_region is None


def test_staff_see_a_pointer_to_the_console(client):
    client.force_login(StaffFactory())
    response = client.get(URL)
    assert response.status_code == 200 and "/console/" in response.content.decode()

"""The worker's phone login page, driven as a browser without JavaScript would."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY

from nuanxin.accounts.models import ConsentRecord, SmsCode, User, WorkerProfile
from tests.factories.people import WorkerFactory

pytestmark = pytest.mark.django_db

URL = "/accounts/login/"
PHONE = "13800138000"


@pytest.fixture
def browser(client):
    return client


def send(browser, sms, phone=PHONE, **extra):
    with sms.sending():
        return browser.post(URL, {"phone": phone, "action": "send", **extra})


def page(response) -> str:
    return response.content.decode()


def logged_in_as(browser) -> int | None:
    value = browser.session.get(SESSION_KEY)
    return int(value) if value is not None else None


def test_the_first_step_asks_for_a_phone_number_with_a_numeric_keypad(browser):
    response = browser.get(URL)
    html = page(response)
    assert response.status_code == 200
    assert re.search(r'<input[^>]*type="tel"[^>]*name="phone"', html)
    assert 'inputmode="numeric"' in html
    assert "获取验证码" in html
    assert 'name="code"' not in html
    assert "csrfmiddlewaretoken" in html


def test_asking_for_a_code_sends_it_and_shows_the_code_step(browser, sms):
    response = send(browser, sms, phone="138 0013 8000")
    html = page(response)
    assert response.status_code == 200
    assert len(sms.last_code(PHONE)) == 6
    assert "138****8000" in html  # the number, masked, with a way to change it
    assert 'autocomplete="one-time-code"' in html and 'name="code"' in html
    assert f'<input type="hidden" name="phone" value="{PHONE}">' in html
    assert "重新获取验证码" in html


def test_a_first_login_shows_the_privacy_notice_and_occupation_after_the_right_code(browser, sms):
    send(browser, sms)
    code = sms.last_code(PHONE)
    response = browser.post(URL, {"phone": PHONE, "code": code, "action": "login"})
    html = page(response)
    assert response.status_code == 200
    assert logged_in_as(browser) is None
    assert 'name="consent"' in html and "《个人信息保护告知书》" in html
    assert 'href="/accounts/privacy/"' in html and "2026-11" in html
    assert 'name="occupation"' in html and "外卖骑手" in html and "网约车司机" in html
    assert f'value="{code}"' in html  # the typed code is kept, it was not spent
    assert SmsCode.objects.get().consumed_at is None

    response = browser.post(URL, {
        "phone": PHONE, "code": code, "action": "login", "consent": "on",
        "occupation": "ride_hailing", "ask_consent": "1", "ask_occupation": "1",
    })
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(phone=PHONE)
    assert logged_in_as(browser) == user.pk
    assert WorkerProfile.objects.get(user=user).occupation == "ride_hailing"
    assert ConsentRecord.objects.get(user=user).version == "2026-11"


def test_not_ticking_the_box_keeps_the_person_on_the_page(browser, sms):
    send(browser, sms)
    code = sms.last_code(PHONE)
    response = browser.post(URL, {"phone": PHONE, "code": code, "action": "login",
                                  "occupation": "courier", "ask_consent": "1",
                                  "ask_occupation": "1"})
    assert response.status_code == 200
    assert "请先阅读并同意" in page(response)
    assert not User.objects.filter(phone=PHONE).exists()


def test_a_first_login_must_choose_an_occupation(browser, sms):
    send(browser, sms)
    code = sms.last_code(PHONE)
    response = browser.post(URL, {"phone": PHONE, "code": code, "action": "login",
                                  "consent": "on", "ask_consent": "1", "ask_occupation": "1"})
    assert "请选择您的职业" in page(response)
    assert not User.objects.filter(phone=PHONE).exists()


def test_a_returning_worker_logs_straight_in_and_goes_where_they_were_going(browser, sms):
    worker = WorkerFactory(home_region_code=None, phone=PHONE)
    send(browser, sms, next="/stations/12/")
    response = browser.post(URL, {"phone": PHONE, "code": sms.last_code(PHONE),
                                  "action": "login", "next": "/stations/12/"})
    assert response.status_code == 302 and response["Location"] == "/stations/12/"
    assert logged_in_as(browser) == worker.pk
    assert ConsentRecord.objects.filter(user=worker).count() == 1


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x",
                                    "/accounts/login/", "javascript:alert(1)"])
def test_next_never_leaves_the_site_or_loops_to_the_login(browser, sms, target):
    WorkerFactory(home_region_code=None, phone=PHONE)
    send(browser, sms)
    response = browser.post(URL, {"phone": PHONE, "code": sms.last_code(PHONE),
                                  "action": "login", "next": target})
    assert response.status_code == 302 and response["Location"] == "/"


def test_a_returning_worker_whose_notice_is_outdated_is_asked_only_for_consent(browser, sms):
    worker = WorkerFactory(home_region_code=None, phone=PHONE)
    WorkerProfile.objects.filter(user=worker).update(consent_version="2025-01")
    send(browser, sms)
    response = browser.post(URL, {"phone": PHONE, "code": sms.last_code(PHONE),
                                  "action": "login"})
    html = page(response)
    assert "已更新" in html and 'name="consent"' in html
    assert 'name="occupation"' not in html


def test_a_wrong_code_says_so_keeps_the_number_and_counts_down(browser, sms):
    send(browser, sms)
    code = sms.last_code(PHONE)
    bad = f"{(int(code) + 1) % 1_000_000:06d}"
    response = browser.post(URL, {"phone": PHONE, "code": bad, "action": "login"})
    html = page(response)
    assert response.status_code == 200
    assert "验证码不正确" in html and "还可以再试 4 次" in html
    assert f'name="phone" value="{PHONE}"' in html
    assert logged_in_as(browser) is None


def test_too_many_wrong_codes_ask_for_a_new_one(browser, sms):
    send(browser, sms)
    code = sms.last_code(PHONE)
    bad = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        response = browser.post(URL, {"phone": PHONE, "code": bad, "action": "login"})
    response = browser.post(URL, {"phone": PHONE, "code": code, "action": "login"})
    assert "输错次数过多" in page(response)
    assert logged_in_as(browser) is None


def test_an_expired_code_is_explained(browser, sms):
    send(browser, sms)
    SmsCode.objects.update(expires_at=SmsCode.objects.get().created_at)
    response = browser.post(URL, {"phone": PHONE, "code": sms.last_code(PHONE),
                                  "action": "login"})
    assert "验证码已过期" in page(response)


def test_asking_again_too_soon_says_how_long_to_wait(browser, sms):
    send(browser, sms)
    response = send(browser, sms)
    html = page(response)
    assert response.status_code == 200
    assert "验证码已发送，请稍后再试" in html and re.search(r"请 \d+ 秒后再获取", html)
    assert 'name="code"' in html  # the first code is still on its way: stay on the code step
    assert len(sms.messages) == 1


def test_asking_again_after_a_minute_sends_a_new_code(browser, sms):
    send(browser, sms)
    row = SmsCode.objects.get()
    row.created_at -= timedelta(seconds=61)
    row.save()
    send(browser, sms)
    assert len(sms.messages) == 2


@pytest.mark.parametrize("raw", ["12345", "abcdefghijk", "1" * 19, "+1 2025550123"])
def test_a_bad_number_is_explained_and_kept_in_the_field(browser, sms, raw):
    response = send(browser, sms, phone=raw)
    html = page(response)
    assert response.status_code == 200
    assert "请输入正确的 11 位中国大陆手机号" in html
    assert f'value="{raw}"' in html
    assert sms.messages == []


@pytest.mark.parametrize("data", [
    {},
    {"phone": "1" * 500, "action": "send"},
    {"phone": PHONE, "action": "login"},
    {"phone": PHONE, "code": "abc", "action": "login"},
    {"phone": PHONE, "code": "1" * 300, "action": "login"},
    {"phone": PHONE, "code": "123456", "action": "login", "occupation": "astronaut",
     "consent": "on", "ask_consent": "1", "ask_occupation": "1"},
    {"phone": PHONE, "code": "123456", "action": "whatever"},
])
def test_malformed_posts_get_a_page_not_an_error(browser, data):
    response = browser.post(URL, data)
    assert response.status_code == 200
    assert 'class="notice error"' in page(response)
    assert logged_in_as(browser) is None


def test_a_code_without_six_digits_does_not_cost_a_try(browser, sms):
    send(browser, sms)
    response = browser.post(URL, {"phone": PHONE, "code": "12 34", "action": "login"})
    assert "6 位数字验证码" in page(response)
    assert SmsCode.objects.get().attempts == 0


def test_a_logged_in_worker_is_sent_on(browser):
    browser.force_login(WorkerFactory(home_region_code=None))
    response = browser.get(URL + "?next=/stations/3/")
    assert response.status_code == 302 and response["Location"] == "/stations/3/"


def test_the_privacy_notice_says_what_why_who_and_how_to_leave(browser):
    response = browser.get("/accounts/privacy/")
    html = page(response)
    assert response.status_code == 200
    assert "2026-11" in html
    for words in ("手机号", "职业", "平台", "常驻社区", "签到", "138****1234", "审计日志",
                  "下载我的数据", "注销账号"):
        assert words in html, words

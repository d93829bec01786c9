"""A login page reached from a QR scan says what the scan was for, told from the record the
code names, never from the address's own text."""

import re
from html import unescape
from urllib.parse import quote

import pytest

from nuanxin.energy.qr import cabinet_token
from nuanxin.stations.qr import station_token
from tests.factories.energy import cabinet
from tests.factories.places import StationFactory

pytestmark = pytest.mark.django_db


def _purpose(html: str) -> str | None:
    found = re.search(r'id="login-purpose">([^<]*)</p>', html)
    return unescape(found.group(1)) if found else None


def _login_page_after(client, address: str) -> str:
    response = client.get(address)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    return client.get(response["Location"]).content.decode()


def test_a_station_code_scanned_while_logged_out_says_where_you_check_in(client):
    station = StationFactory(name="义驾山社区暖新驿站")
    html = _login_page_after(client, f"/c/{station_token(station.pk)}/")
    assert _purpose(html) == "登录后为您在「义驾山社区暖新驿站」签到"


def test_a_cabinet_code_scanned_while_logged_out_says_which_cabinet(client):
    cab = cabinet(serial="CT-YW-0101", slots=2, full=1, charging=0)
    html = _login_page_after(client, f"/energy/c/{cabinet_token(cab.pk)}/")
    assert _purpose(html) == "登录后开始在换电柜 CT-YW-0101 换电"
    client.cookies["django_language"] = "en"
    html = _login_page_after(client, f"/energy/c/{cabinet_token(cab.pk)}/")
    assert _purpose(html) == "Log in to swap your battery at cabinet CT-YW-0101"


def test_the_purpose_stays_on_the_code_step(client, sms_outbox):
    station = StationFactory(name="义驾山社区暖新驿站")
    nxt = f"/c/{station_token(station.pk)}/"
    html = client.post("/accounts/login/", {"phone": "13912345678", "next": nxt,
                                            "action": "send"}).content.decode()
    assert 'name="code"' in html
    assert _purpose(html) == "登录后为您在「义驾山社区暖新驿站」签到"


def test_a_name_with_markup_is_shown_as_text(client):
    station = StationFactory(name="义驾山<img src=x onerror=alert(1)>驿站")
    html = _login_page_after(client, f"/c/{station_token(station.pk)}/")
    assert "<img" not in html
    assert _purpose(html) == "登录后为您在「义驾山<img src=x onerror=alert(1)>驿站」签到"


@pytest.mark.parametrize("nxt", [
    "/c/forged-token/",                                  # not a signed code
    "/c/" + quote("登录后为您在「假驿站」签到") + "/",        # text in the address
    "https://evil.example/c/{token}/",                   # another site
    "/needs/new/",                                       # a page no app explains
    "/nowhere/",
])
def test_only_known_shapes_naming_real_records_get_a_purpose(client, nxt):
    station = StationFactory()
    nxt = nxt.replace("{token}", station_token(station.pk))
    html = client.get("/accounts/login/", {"next": nxt}).content.decode()
    assert _purpose(html) is None and "假驿站" not in html.replace(quote("假驿站"), "")


def test_a_closed_station_or_disabled_cabinet_gets_no_purpose(client):
    station = StationFactory(is_active=False)
    html = client.get("/accounts/login/", {"next": f"/c/{station_token(station.pk)}/"})
    assert _purpose(html.content.decode()) is None
    cab = cabinet(slots=1, full=0, charging=0, enabled=False)
    html = client.get("/accounts/login/", {"next": f"/energy/c/{cabinet_token(cab.pk)}/"})
    assert _purpose(html.content.decode()) is None

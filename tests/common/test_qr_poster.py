"""One QR poster page (common.qr, console/qr_poster.html) for a station's check-in code, a
cabinet's swap code and a survey's link: each shows its code, and the code read back from
the image on the page opens the right thing for the rider who scans it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from nuanxin.accounts.models import StaffRole
from nuanxin.stations.models import CheckIn
from tests.accounts.qr import read_svg_qr
from tests.factories import energy as energy
from tests.factories.people import StaffFactory, WorkerFactory, login
from tests.factories.places import YIJIASHAN, StationFactory
from tests.surveys.helpers import charging_survey

pytestmark = pytest.mark.django_db


def station_poster(client):
    station = StationFactory(region_code=YIJIASHAN, name="义驾山社区党群服务中心驿站")
    login(client, StaffFactory(role=StaffRole.STATION_KEEPER, region_code=YIJIASHAN))
    return reverse("console:station_qr", args=[station.pk]), station.name, "扫码签到"


def cabinet_poster(client):
    op = energy.operator(name="铁塔换电义乌")
    cabinet = energy.cabinet(op=op, name="义驾山1号柜", full=3, charging=1)
    client.force_login(energy.operator_user(op))
    return reverse("energy_console:cabinet_qr", args=[cabinet.pk]), cabinet.name, "扫码换电"


def survey_poster(client):
    staff = StaffFactory()
    survey, _questions = charging_survey(staff)
    login(client, staff)
    return reverse("surveys_console:qr", args=[survey.pk]), survey.title, "扫码答题"


def scanned(client, poster_url: str) -> tuple[str, str]:
    """The poster page's HTML, and the address its code image holds (read by zxing-cpp)."""
    page = client.get(poster_url)
    assert page.status_code == 200
    html = page.content.decode()
    image = re.search(r'<article class="poster a4">.*?<img src="([^"]+)"', html, re.S).group(1)
    svg = client.get(image.replace("&amp;", "&"))
    assert svg["Content-Type"] == "image/svg+xml" and "Content-Disposition" not in svg
    return html, read_svg_qr(svg.content.decode())


def same_code(one: str, other: str) -> bool:
    def parts(url):
        head, token, _end = url.rsplit("/", 2)
        return head, token.split(":")[0]
    return parts(one) == parts(other)


@pytest.mark.parametrize("make", [station_poster, cabinet_poster, survey_poster])
def test_each_poster_shows_its_code_on_the_one_template(client, make):
    url, name, call = make(client)
    html, address = scanned(client, url)
    assert "console/qr_poster.html" in [t.name for t in client.get(url).templates]
    poster = html[html.index('<article class="poster a4">'):html.index("</article>")]
    assert name in poster and call in poster
    # The address written under the code is the code's: same page, same signed payload (a
    # timed token's stamp may differ by a second between the page and its image).
    shown = re.search(r'<code class="url" id="poster-url">([^<]+)</code>', html).group(1)
    assert same_code(shown, address)
    for asked, shown in (("a5", "a5"), ("a6", "a6"), ("b9", "a4")):
        html = client.get(url, {"size": asked}).content.decode()
        assert f'<article class="poster {shown}">' in html


def rider_opens(address: str) -> str:
    rider = WorkerFactory()
    client = Client()
    client.force_login(rider)
    page = client.get(urlsplit(address).path)
    assert page.status_code == 200, address
    return page.content.decode()


def test_the_station_code_checks_the_rider_in_there(client):
    url, name, _call = station_poster(client)
    _html, address = scanned(client, url)
    assert urlsplit(address).netloc == "testserver"
    page = rider_opens(address)
    assert name in page and "签到成功" in page
    assert CheckIn.objects.get().station.name == name


def test_the_cabinet_code_opens_that_cabinets_swap_page(client):
    url, name, _call = cabinet_poster(client)
    _html, address = scanned(client, url)
    page = rider_opens(address)
    assert re.search(r"<h1[^>]*>\s*" + re.escape(name) + r"\s*</h1>", page)
    assert "开始换电" in page


def test_the_survey_code_opens_the_survey_to_answer(client):
    url, name, _call = survey_poster(client)
    _html, address = scanned(client, url)
    page = rider_opens(address)
    assert name in page and "跑单途中最大的困难是什么？" in page

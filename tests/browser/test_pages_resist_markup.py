"""Names typed by people reach maps and charts as text, and the Content-Security-Policy
holds on every page the browser code runs on (issue 8, items 2, 3 and 7).

Every name below carries `<img src=x onerror=...>`. Escaped, it shows literally and no
<img src="x"> element exists; unescaped, the element would exist (and, were the policy not
there, run). The `new_page` fixture fails a test on any console error, which includes every
policy violation and the 404 an injected <img src=x> would cause.
"""

import os
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from nuanxin.stations import services as station_services
from nuanxin.surveys import services as survey_services
from nuanxin.surveys.services import AnswerInput, OptionInput, QuestionInput
from tests.factories import energy as energy
from tests.factories.people import StaffFactory, SuperuserFactory, WorkerFactory, browser_login
from tests.factories.places import YIJIASHAN, YIJIASHAN_POINT
from tests.surveys.helpers import survey_input

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("NUANXIN_SCREENSHOTS", tempfile.gettempdir()))
MARKUP = '<img src=x onerror="window.__xss=1">'
MARKER_TIP = ".leaflet-tooltip:not(.district-label)"  # district names are tooltips too


def assert_inert(page):
    assert page.evaluate("window.__xss") is None
    expect(page.locator('img[src="x"]')).to_have_count(0)


@pytest.fixture
def root(regions):
    return SuperuserFactory()


@pytest.fixture
def station(root):
    made = station_services.station_create(user=root, data=station_services.StationData(
        name="义驾山" + MARKUP, type="center", region_code=YIJIASHAN,
        lat=YIJIASHAN_POINT[0] + 0.0005, lng=YIJIASHAN_POINT[1], amenities=("hot_water",),
    ))
    station_services.station_set_hours(user=root, station_id=made.pk,
                                       spans=[(w, 0, 1440) for w in range(7)])
    return made


def test_station_name_on_the_maps_of_home_and_station_page_is_text(new_page, station):
    page = new_page(geolocation={"latitude": YIJIASHAN_POINT[0], "longitude": YIJIASHAN_POINT[1]},
                    permissions=["geolocation"])
    page.goto("/")
    expect(page.locator("#results .name")).to_have_text("义驾山" + MARKUP)
    page.locator("#map .station-dot").hover()
    expect(page.locator("#map " + MARKER_TIP)).to_have_text("义驾山" + MARKUP)
    assert_inert(page)

    page.goto(f"/stations/{station.pk}/")
    page.locator("#map .station-dot").hover()
    expect(page.locator("#map " + MARKER_TIP)).to_have_text("义驾山" + MARKUP)
    assert_inert(page)


def test_cabinet_and_station_names_on_energy_pages_and_console_map_are_text(
        new_page, station, live_server):
    op = energy.operator()
    cabinet = energy.cabinet(op=op, station=station, name="换电柜" + MARKUP,
                             lat=YIJIASHAN_POINT[0], lng=YIJIASHAN_POINT[1])
    rider = new_page()
    rider.goto(f"/energy/?lat={YIJIASHAN_POINT[0]}&lng={YIJIASHAN_POINT[1]}")
    expect(rider.locator("#results .name")).to_have_text("换电柜" + MARKUP)
    expect(rider.locator("#map .cab-marker")).to_have_text("6")
    assert_inert(rider)
    rider.goto(f"/energy/cabinets/{cabinet.serial}/")
    expect(rider.locator("h1")).to_have_text("换电柜" + MARKUP)
    expect(rider.locator(".card").first).to_contain_text("义驾山" + MARKUP)
    assert_inert(rider)

    desk = new_page()
    browser_login(desk, energy.operator_user(op), live_server.url)
    desk.goto("/console/energy/")
    desk.locator("#energy-map path.leaflet-interactive").first.hover(force=True)
    expect(desk.locator("#energy-map " + MARKER_TIP)).to_contain_text("换电柜" + MARKUP)
    assert_inert(desk)
    # The fleet health chart, moved out of an inline script, still draws under the policy.
    desk.goto("/console/energy/health/")
    expect(desk.locator("#health-chart svg")).to_be_visible()


def test_survey_question_and_option_labels_on_result_charts_are_text(new_page, regions,
                                                                     live_server):
    staff = StaffFactory(region_code=YIJIASHAN)
    survey = survey_services.survey_create(actor=staff, data=survey_input())
    question = survey_services.question_add(
        actor=staff, survey_id=survey.pk, data=QuestionInput(
            kind="single", text="愿意吗？" + MARKUP,
            options=[OptionInput("愿意" + MARKUP), OptionInput("不愿意")]))
    survey_services.survey_publish(actor=staff, survey_id=survey.pk)
    chosen = question.options.get(position=1).pk
    for _ in range(3):
        survey_services.response_submit(
            worker=WorkerFactory(), survey_id=survey.pk,
            answers={question.pk: AnswerInput(options=[chosen])})

    desk = new_page()
    browser_login(desk, staff, live_server.url)
    desk.goto(f"/console/surveys/{survey.pk}/results/")
    chart = desk.locator(f'[data-chart="{question.pk}"]')
    expect(chart.locator("svg")).to_be_visible()
    expect(chart).to_contain_text("愿意<img src=x")  # the axis label (truncated), SVG text
    desk.evaluate(
        """box => echarts.getInstanceByDom(box).dispatchAction(
             {type: "showTip", seriesIndex: 0, dataIndex: 0})""",
        chart.element_handle())
    tooltip = chart.locator("div", has_text="：3（100")
    expect(tooltip.last).to_have_text("愿意" + MARKUP + "：3（100%）")
    desk.screenshot(path=str(SHOTS / "survey-results-360.png"), full_page=True)
    assert_inert(desk)


def test_every_page_carries_the_policy_and_admin_and_api_docs_work_under_it(
        new_page, root, station, live_server):
    page = new_page()
    # Django admin's pages name no icon, so chromium asks for /favicon.ico (a 404).
    new_page.allow_error_status("/favicon.ico")
    response = page.goto("/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert "'unsafe-eval'" not in policy

    page.goto("/api/docs")
    expect(page.get_by_role("heading", name="暖新 Nuanxin API")).to_be_visible()

    browser_login(page, root, live_server.url)
    page.goto("/admin/stations/station/")
    expect(page.locator("#result_list")).to_contain_text("义驾山" + MARKUP)
    # The theme switch is the admin's own script (theme.js) at work.
    page.locator("button.theme-toggle").first.click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert_inert(page)

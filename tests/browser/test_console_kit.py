"""The console kit on a 360 px phone (issue 9 item 3): the survey results, the alliance's
project list and the voice console fit the screen (no sideways scrolling) and their lists
are labelled cards; so does every other console page, energy's included, for staff and for
a cabinet operator's member; an action that cannot be undone asks first in the kit's dialog;
a QR poster prints on one sheet of the paper chosen."""

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from nuanxin.alliance.services import projects as project_services
from nuanxin.alliance.services.projects import ProjectInput
from nuanxin.stations import services as station_services
from nuanxin.surveys import services as survey_services
from nuanxin.voice import services as voice_services
from tests.alliance.helpers import resource
from tests.factories.needs import raise_need
from tests.factories.people import (
    PartnerFactory,
    StaffFactory,
    SuperuserFactory,
    WorkerFactory,
    browser_login,
)
from tests.factories.places import YIJIASHAN, ensure_units
from tests.surveys.helpers import answer, charging_survey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 360
SHOTS = Path(os.environ.get("NUANXIN_SCREENSHOTS", tempfile.gettempdir()))


def fits_the_screen(page):
    return page.evaluate("document.scrollingElement.scrollWidth") <= WIDTH


@pytest.fixture
def root(regions):
    ensure_units(YIJIASHAN)
    return SuperuserFactory()


def test_survey_results_project_list_and_voice_console_fit_a_phone(new_page, root,
                                                                   live_server):
    staff = StaffFactory()
    survey, q = charging_survey(staff)
    for pains in ((1,), (1, 2), (2, 3)):
        survey_services.response_submit(worker=WorkerFactory(), survey_id=survey.pk,
                                        answers=answer(q, pains=pains, text="晚上充电站关门太早"))
    ally = PartnerFactory(name="义乌市某某新能源科技有限公司")
    slots = resource(ally, actor=root)
    for i in range(3):
        project = project_services.project_create(actor=root, data=ProjectInput(
            title=f"义驾山骑手充电驿站改造第{i + 1}期", owner_region_code=YIJIASHAN,
            progress=30 * i, cost_fen=1_250_000))
        project_services.project_allocate(actor=root, project_id=project.pk,
                                          resource_id=slots.pk, quantity=2)
    for text in ("谢谢社区的热水和充电宝，冬天跑单不那么难了。" * 3, "希望驿站晚上开到十点。"):
        voice_services.story_create(author=WorkerFactory(), text=text, consent_publish=True)
    page = browser_login(new_page(), root, live_server.url)

    page.goto(f"/console/surveys/{survey.pk}/results/")
    expect(page.locator("h1")).to_contain_text(survey.title)
    first = page.locator(f"#result-{q['pain'].pk} table.buckets tbody tr").first
    expect(first.locator("td[data-label='人数']")).to_be_visible()
    expect(first.locator("progress.bar")).to_be_visible()
    expect(first.get_by_role("button", name="列入需求清单")).to_be_visible()
    assert fits_the_screen(page)
    page.screenshot(path=str(SHOTS / "console-kit-survey-results-360.png"), full_page=True)

    page.goto("/console/alliance/projects/")
    rows = page.locator("#projects-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first.locator("td[data-label='联盟单位']")).to_contain_text("新能源")
    expect(rows.first.locator(".status")).to_be_visible()
    assert fits_the_screen(page)
    page.screenshot(path=str(SHOTS / "console-kit-projects-360.png"), full_page=True)

    page.goto("/console/voice/?status=all")
    expect(page.locator("article.card")).to_have_count(2)
    expect(page.get_by_role("button", name="发布到社区页面").first).to_be_visible()
    assert fits_the_screen(page)
    page.screenshot(path=str(SHOTS / "console-kit-voice-360.png"), full_page=True)


def test_deleting_a_question_asks_first_in_the_dialog(new_page, root, live_server):
    staff = StaffFactory()
    survey, q = charging_survey(staff, publish=False)
    page = browser_login(new_page(), staff, live_server.url)
    page.goto(f"/console/surveys/{survey.pk}/")
    questions = page.locator("ol.questions > li")
    expect(questions).to_have_count(5)
    dialog = page.locator("#confirm-dialog")

    questions.first.get_by_role("button", name="删除").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("删除第 1 题？")
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()
    expect(questions).to_have_count(5)

    questions.last.get_by_role("button", name="删除").click()
    dialog.get_by_role("button", name="确定").click()
    expect(questions).to_have_count(4)
    expect(page.locator("ol.questions")).not_to_contain_text(q["text"].text)


def test_every_console_page_outside_energy_fits_a_phone(new_page, root, live_server):
    station = station_services.station_create(user=root, data=station_services.StationData(
        name="义驾山社区党群服务中心驿站", type="center", region_code=YIJIASHAN,
        lat=29.3157, lng=120.0782, amenities=("hot_water",)))
    need = raise_need(accept=True)
    staff = StaffFactory()
    survey, q = charging_survey(staff)
    survey_services.response_submit(worker=WorkerFactory(), survey_id=survey.pk,
                                    answers=answer(q, text="晚上充电站关门太早"))
    draft, dq = charging_survey(staff, publish=False)
    ally = PartnerFactory(name="义乌市某某新能源科技有限公司")
    slots = resource(ally, actor=root)
    project = project_services.project_create(actor=root, data=ProjectInput(
        title="义驾山骑手充电驿站改造", owner_region_code=YIJIASHAN, progress=30))
    project_services.project_allocate(actor=root, project_id=project.pk,
                                      resource_id=slots.pk, quantity=2)
    project_services.project_add_need(actor=root, project_id=project.pk, need_id=need.pk)
    voice_services.story_create(author=WorkerFactory(), text="谢谢社区的热水和充电宝",
                                consent_publish=True)
    first_day = timezone.localdate() + timedelta(days=10)
    campaign = station_services.campaign_create(
        user=root, name="春节不打烊", region_code=YIJIASHAN, starts_on=first_day,
        ends_on=first_day + timedelta(days=7), opens=0, closes=24 * 60,
        station_ids=[station.pk])
    stations = [f"/console/stations/{station.pk}/{tail}"
                for tail in ("", "edit/", "hours/", "exceptions/", "photos/", "qr/")]
    surveys = [f"/console/surveys/{survey.pk}/{tail}"
               for tail in ("", "edit/", "preview/", "qr/", "results/",
                            f"results/texts/{q['text'].pk}/")]
    pages = [
        "/console/", "/console/stations/new/", *stations, "/console/campaigns/",
        f"/console/campaigns/{campaign.pk}/", f"/console/campaigns/{campaign.pk}/edit/",
        "/console/import/", "/console/needs/", "/console/needs/new/",
        f"/console/needs/{need.pk}/", "/console/surveys/", "/console/surveys/new/", *surveys,
        f"/console/surveys/{draft.pk}/", f"/console/surveys/{draft.pk}/questions/new/?kind=single",
        f"/console/surveys/{draft.pk}/questions/{dq['pain'].pk}/", "/console/surveys/visits/",
        "/console/surveys/visits/new/", "/console/surveys/visits/plan/",
        "/console/surveys/visits/coverage/", "/console/alliance/",
        f"/console/alliance/partners/{ally.pk}/", "/console/alliance/resources/",
        f"/console/alliance/resources/{slots.pk}/", "/console/alliance/routings/",
        "/console/alliance/projects/", "/console/alliance/projects/new/",
        f"/console/alliance/projects/{project.pk}/", f"/console/alliance/needs/{need.pk}/match/",
        "/console/voice/?status=all",
    ]
    page = browser_login(new_page(), root, live_server.url)
    too_wide = {}
    for url in pages:
        page.goto(url)
        expect(page.locator(".page-head h1")).to_be_visible()  # the kit's page header
        if not fits_the_screen(page):
            too_wide[url] = page.evaluate("document.scrollingElement.scrollWidth")
    assert too_wide == {}


def energy_desk(root):
    """A cabinet with an alarm, a swap, an open and a finished work order."""
    from django.utils import timezone

    from nuanxin.energy.services import safety, workorders
    from tests.energy.test_console import completed_swap
    from tests.factories import energy as f

    op = f.operator(name="铁塔换电义乌")
    cab = f.cabinet(op=op, name="义驾山社区党群服务中心 1 号柜", group="义驾山组", full=5,
                    charging=3)
    safety.alarm_raise(cabinet=cab, kind="over_temperature", at=timezone.now(), slot=2,
                       value=66.0)
    completed_swap(cab, f.subscribed_rider(op=op))
    battery = cab.slots.get(number=1).battery
    done = workorders.work_order_open(user=root, kind="to_maintenance", battery_id=battery.pk)
    workorders.work_order_complete(user=root, work_order_id=done.pk)
    waiting = workorders.work_order_open(user=root, kind="to_maintenance", note="外壳破损",
                                         battery_id=cab.slots.get(number=3).battery.pk)
    return op, cab, waiting


def test_every_energy_console_page_fits_a_phone(new_page, root, live_server):
    from nuanxin.energy.models import Alarm, Swap, WorkOrder
    from tests.factories import energy as f

    op, cab, order = energy_desk(root)
    alarm, swap = Alarm.objects.get(cabinet=cab), Swap.objects.get(cabinet=cab)
    done = WorkOrder.objects.exclude(pk=order.pk).get()
    pages = ["/console/energy/", f"/console/energy/cabinets/{cab.pk}/",
             f"/console/energy/cabinets/{cab.pk}/qr/", "/console/energy/alarms/?state=",
             f"/console/energy/alarms/{alarm.pk}/", "/console/energy/work-orders/?state=",
             f"/console/energy/work-orders/{order.pk}/",
             f"/console/energy/work-orders/{done.pk}/", "/console/energy/swaps/",
             f"/console/energy/swaps/{swap.pk}/", "/console/energy/health/",
             "/console/energy/coverage/"]
    too_wide = {}
    for user in (root, f.operator_user(op)):
        page = browser_login(new_page(), user, live_server.url)
        for url in pages:
            page.goto(url)
            expect(page.locator(".page-head h1")).to_be_visible()
            if not fits_the_screen(page):
                too_wide[(user.username, url)] = page.evaluate(
                    "document.scrollingElement.scrollWidth")
        page.goto("/console/energy/alarms/?state=")
        row = page.locator("tr[data-alarm]").first
        expect(row.locator("td[data-label='类型']")).to_contain_text("温度过高")
        page.screenshot(path=str(SHOTS / f"console-kit-energy-alarms-{user.pk}-360.png"),
                        full_page=True)
        page.goto(f"/console/energy/alarms/{alarm.pk}/")
        expect(page.locator("[data-timeline] li").first).to_contain_text("柜机报警")
        page.screenshot(path=str(SHOTS / f"console-kit-energy-alarm-{user.pk}-360.png"),
                        full_page=True)
    assert too_wide == {}


def test_cancelling_a_work_order_asks_first(new_page, root, live_server):
    from nuanxin.energy.models import WorkOrder, WorkOrderState

    _op, _cab, order = energy_desk(root)
    page = browser_login(new_page(), root, live_server.url)
    page.goto("/console/energy/work-orders/")
    row = page.locator(f'tr[data-work-order="{order.pk}"]')
    dialog = page.locator("#confirm-dialog")

    row.get_by_role("button", name="取消").click()
    expect(dialog).to_contain_text(f"取消工单 #{order.pk}？")
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()
    assert WorkOrder.objects.get(pk=order.pk).state == WorkOrderState.OPEN

    row.get_by_role("button", name="取消").click()
    dialog.get_by_role("button", name="确定").click()
    expect(page.locator(".messages")).to_contain_text(f"工单 #{order.pk} 已取消。")
    assert WorkOrder.objects.get(pk=order.pk).state == WorkOrderState.CANCELLED


# Points (1/72 inch) of the paper sizes, portrait.
PAPER = {"a4": (595, 842), "a5": (420, 595), "a6": (298, 420)}


def test_a_poster_prints_on_one_sheet_of_the_paper_chosen(new_page, root, live_server):
    import re

    _op, cab, _order = energy_desk(root)
    page = browser_login(new_page(), root, live_server.url)
    for size, (width, height) in PAPER.items():
        page.goto(f"/console/energy/cabinets/{cab.pk}/qr/?size={size}")
        expect(page.locator(f"article.poster.{size} img")).to_be_visible()
        pdf = page.pdf(prefer_css_page_size=True).decode("latin-1")
        boxes = re.findall(r"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
        assert len(boxes) == 1, (size, boxes)  # one page: nothing spilt onto a second
        assert (round(float(boxes[0][0])), round(float(boxes[0][1]))) == (width, height)

"""The pages as a browser without JavaScript uses them: the worker's answering page and the
staff console (builder, QR code, results, export, visits)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from nuanxin.surveys import selectors
from nuanxin.surveys.models import (
    HomeVisit,
    Question,
    Response,
    Survey,
    SurveyNeed,
    SurveyStatus,
    VisitPlan,
)
from tests.accounts.qr import read_svg_qr
from tests.factories.people import WorkerFactory, login
from tests.factories.places import CHUITAI, YIJIASHAN
from tests.surveys.helpers import answer, charging_survey, opt

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(staff):
    return login(Client(HTTP_HOST="127.0.0.1"), staff)


def _worker_client(worker):
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(worker)
    return client


def _url(survey) -> str:
    return f"/surveys/a/{selectors.survey_token(survey.pk)}/"


# --- the worker's side --------------------------------------------------------------------

def test_answering_without_javascript(staff):
    survey, q = charging_survey(staff)
    worker = WorkerFactory()
    client = _worker_client(worker)
    page = client.get(_url(survey))
    assert page.status_code == 200
    html = page.content.decode()
    assert "跑单途中最大的困难是什么？" in html
    # the conditional question is on the page, saying when it applies, for script-less phones
    assert f'data-show-if="{q["pain"].pk}"' in html
    assert "第 1 题选了“充电”才需要回答" in html
    assert 'name="csrfmiddlewaretoken"' in html

    # Q1 without 充电 but an (ignored) answer to the hidden Q2; the rating missing → error
    data = {f"q{q['pain'].pk}": [str(opt(q["pain"], 2))],
            f"q{q['detail'].pk}": [str(opt(q["detail"], 1))],
            f"q{q['cabinet'].pk}": str(opt(q["cabinet"], 1))}
    page = client.post(_url(survey), data)
    assert page.status_code == 400
    html = page.content.decode()
    assert "有的题目还没答好" in html and "这道题必须回答" in html
    assert f'value="{opt(q["pain"], 2)}" checked' in html  # what was ticked stays ticked
    assert not Response.objects.exists()

    data[f"q{q['rating'].pk}"] = "4"
    page = client.post(_url(survey), data)
    assert page.status_code == 302 and page["Location"].endswith("/done/")
    response = Response.objects.get(survey=survey)
    assert not response.answers.filter(question=q["detail"]).exists()
    done = client.get(page["Location"])
    assert "提交成功" in done.content.decode()
    again = client.get(_url(survey))
    assert "您已经答过这份问卷了" in again.content.decode()


def test_other_text_from_the_form(staff):
    survey, q = charging_survey(staff)
    client = _worker_client(WorkerFactory())
    page = client.post(_url(survey), {
        f"q{q['pain'].pk}": ["other"], f"q{q['pain'].pk}_other": "下雨天",
        f"q{q['rating'].pk}": "2", f"q{q['cabinet'].pk}": str(opt(q["cabinet"], 3))})
    assert page.status_code == 302
    assert Response.objects.get().answers.get(question=q["pain"]).text == "下雨天"


def test_list_of_my_surveys(staff):
    survey, q = charging_survey(staff)
    worker = WorkerFactory()
    client = _worker_client(worker)
    html = client.get("/surveys/").content.decode()
    assert survey.title in html and _url(survey) in html
    from nuanxin.surveys import services

    services.response_submit(worker=worker, survey_id=survey.pk, answers=answer(q))
    html = client.get("/surveys/").content.decode()
    assert "已答" in html and _url(survey) not in html


@pytest.mark.parametrize(("case", "status", "code"), [
    ("forged", 400, "qr_invalid"),
    ("outside", 403, "not_in_target_group"),
    ("no_home", 403, "home_region_required"),
    ("closed", 409, "survey_closed"),
])
def test_answering_refusals_are_pages(staff, case, status, code):
    survey, _q = charging_survey(staff)
    worker = WorkerFactory(home_region_code={"outside": CHUITAI, "no_home": None}.get(case,
                                                                               YIJIASHAN))
    url = _url(survey)
    if case == "forged":
        url = url.replace("/a/", "/a/x")
    if case == "closed":
        Survey.objects.filter(pk=survey.pk).update(closes_at=timezone.now() - timedelta(1),
                                                   opens_at=timezone.now() - timedelta(9))
    page = _worker_client(worker).get(url)
    assert page.status_code == status
    assert f'data-code="{code}"' in page.content.decode()


def test_answering_needs_a_login(staff):
    survey, _q = charging_survey(staff)
    page = Client(HTTP_HOST="127.0.0.1").get(_url(survey))
    assert page.status_code == 302 and "/accounts/login/" in page["Location"]


# --- the console --------------------------------------------------------------------------

def test_build_publish_and_share_through_the_console(console, staff):
    page = console.get("/console/surveys/new/")
    assert page.status_code == 200
    now = timezone.localtime()
    page = console.post("/console/surveys/new/", {
        "title": "停车问卷", "intro": "", "region": YIJIASHAN,
        "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")})
    assert page.status_code == 302
    survey = Survey.objects.get(title="停车问卷")
    base = f"/console/surveys/{survey.pk}"
    assert console.get(f"{base}/questions/new/?kind=single").status_code == 200
    page = console.post(f"{base}/questions/new/", {
        "kind": "single", "text": "最难的是？", "required": "on", "maps_to_need": "on",
        "option_rows": "6", "option_0_label": "停车", "option_0_category": "traffic_parking",
        "option_1_label": "充电", "option_1_category": "charging", "then": "done"})
    assert page.status_code == 302, page.content.decode()[:2000]
    first = survey.questions.get()
    assert [o.label for o in first.options.all()] == ["停车", "充电"]
    # a question shown only when 充电 was chosen
    page = console.post(f"{base}/questions/new/", {
        "kind": "rating", "text": "充电满意度", "required": "on", "scale_max": "5",
        "option_rows": "6", "show_if_options": [str(opt(first, 2))], "then": "done"})
    assert page.status_code == 302
    second = survey.questions.get(position=2)
    assert second.show_if == first
    # a form error is shown on the form
    page = console.post(f"{base}/questions/new/", {"kind": "single", "text": "只有一个选项",
                                                   "option_rows": "6", "option_0_label": "甲"})
    assert page.status_code == 200 and "选择题至少需要两个选项" in page.content.decode()
    # edit, move, preview
    assert console.get(f"{base}/questions/{first.pk}/").status_code == 200
    page = console.post(f"{base}/questions/{second.pk}/up/")
    assert page.status_code == 302
    assert Question.objects.get(pk=second.pk).position == 2  # refused: its condition
    assert "条件题必须排在前面" in console.get(f"{base}/").content.decode()
    assert "充电满意度" in console.get(f"{base}/preview/").content.decode()
    # publish → frozen, QR code and link
    assert console.post(f"{base}/publish/").status_code == 302
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.PUBLISHED
    page = console.get(f"{base}/questions/new/")
    assert page.status_code == 302  # questions are frozen
    html = console.get(f"{base}/qr/").content.decode()
    assert selectors.survey_token(survey.pk) in html
    png = console.get(f"{base}/qr.png")
    assert png["Content-Type"] == "image/png"
    svg = console.get(f"{base}/qr.svg?download=0")
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    assert "Content-Disposition" not in svg
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert read_svg_qr(svg.content.decode()).endswith(_url(survey))
    # close, reopen, copy
    assert console.post(f"{base}/close/").status_code == 302
    later = (timezone.localtime() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    assert console.post(f"{base}/reopen/", {"closes_at": later}).status_code == 302
    survey.refresh_from_db()
    assert survey.status == SurveyStatus.PUBLISHED
    assert console.post(f"{base}/copy/").status_code == 302
    assert Survey.objects.filter(status=SurveyStatus.DRAFT).count() == 1


def test_results_page_export_and_need(console, staff, django_assert_max_num_queries):
    survey, q = charging_survey(staff)
    from nuanxin.surveys import services

    for pains in [(1,), (1, 2), (3,), (1,), (2,)]:
        services.response_submit(worker=WorkerFactory(), survey_id=survey.pk,
                                 answers=answer(q, pains=pains, text="多装柜子"))
    base = f"/console/surveys/{survey.pk}"
    with django_assert_max_num_queries(25):
        page = console.get(f"{base}/results/?row={q['pain'].pk}&col={q['cabinet'].pk}")
    html = page.content.decode()
    assert page.status_code == 200
    assert "5 人作答 / 5 人看到这道题" in html
    assert "3 人作答 / 3 人看到这道题" in html  # the conditional question
    assert "60.0%" in html and 'id="chart-data"' in html and "echarts.min.js" in html
    assert "交叉分析" in html and "该行人数" in html
    partial = console.get(f"{base}/results/", HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and b"<html" not in partial.content
    texts = console.get(f"{base}/results/texts/{q['text'].pk}/")
    assert texts.content.decode().count("多装柜子") == 5
    export = console.get(f"{base}/results.xlsx")
    assert export.status_code == 200 and export.content[:2] == b"PK"
    assert "attachment" in export["Content-Disposition"]
    page = console.post(f"{base}/options/{opt(q['pain'], 1)}/raise-need/")
    assert page.status_code == 302
    link = SurveyNeed.objects.get()
    html = console.get(f"{base}/results/").content.decode()
    assert f"/console/needs/{link.need_id}/" in html


def test_visits_through_the_console(console, staff):
    worker = WorkerFactory()
    assert console.get("/console/surveys/visits/").status_code == 200
    assert console.get("/console/surveys/visits/new/").status_code == 200
    now = timezone.localtime() - timedelta(hours=1)
    page = console.post("/console/surveys/visits/new/", {
        "worker_phone": worker.phone, "visited_at": now.strftime("%Y-%m-%dT%H:%M"),
        "difficulty_text": "充电慢、充电难，还不安全。", "difficulty_categories": ["charging"],
        "community_text": "换电柜", "follow_up_note": "联系铁塔", "follow_up_due":
        (timezone.localdate() + timedelta(days=3)).isoformat()})
    assert page.status_code == 302, page.content.decode()[:3000]
    v = HomeVisit.objects.get()
    html = console.get(f"/console/surveys/visits/{v.pk}/").content.decode()
    assert "充电慢、充电难，还不安全。" in html and worker.masked_phone in html
    assert worker.phone not in html
    a = v.answers.get(question="difficulty")
    page = console.post(f"/console/surveys/visits/{v.pk}/answers/{a.pk}/to-need/", {
        f"a{a.pk}-title": "充电难", f"a{a.pk}-category": "charging", f"a{a.pk}-urgency": "1"})
    assert page.status_code == 302
    a.refresh_from_db()
    assert a.need_id
    item = v.follow_ups.get()
    console.post(f"/console/surveys/visits/follow-ups/{item.pk}/done/", {"done": "1"})
    item.refresh_from_db()
    assert item.done
    # a household with a form error: no community chosen
    page = console.post("/console/surveys/visits/new/", {
        "household_name": "王家", "visited_at": now.strftime("%Y-%m-%dT%H:%M")})
    assert page.status_code == 200 and "不在您的管辖范围内" in page.content.decode()


def test_plan_and_coverage_pages(console, staff):
    workers = [WorkerFactory() for _i in range(3)]
    assert console.get("/console/surveys/visits/plan/").status_code == 200
    page = console.post("/console/surveys/visits/plan/", {
        "worker_phone": workers[0].phone, "planned_on": timezone.localdate().isoformat()})
    assert page.status_code == 302
    assert VisitPlan.objects.filter(worker=workers[0]).exists()
    html = console.get("/console/surveys/visits/coverage/").content.decode()
    assert "0.0%" in html
    for w in workers:
        assert w.masked_phone in html and w.phone not in html
    page = console.post("/console/surveys/visits/plan/quick/", {
        "worker": workers[1].pk, "planned_on": timezone.localdate().isoformat()})
    assert page.status_code == 302
    assert VisitPlan.objects.count() == 2
    html = console.get("/console/surveys/visits/plan/").content.decode()
    assert "计划 2 次，已走访 0 次" in html

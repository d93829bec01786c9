"""Issue 4's journey in chromium, start to finish: a rider answers the charging survey on the
phone and raises a need; the community secretary merges it with a similar one, opens a
project with the battery-cabinet operator's resource and closes it; the rider sees the
outcome and rates it."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from nuanxin.accounts.models import PartnerKind
from nuanxin.needs.models import Need, NeedFeedback, NeedStatus
from nuanxin.surveys.selectors.surveys import survey_token
from nuanxin.surveys.services import surveys as survey_services
from tests.alliance.helpers import resource
from tests.factories.needs import raise_need
from tests.factories.people import PartnerFactory, StaffFactory, WorkerFactory, browser_login
from tests.factories.places import YIJIASHAN, YIWU, ensure_units

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-browser-password"


@pytest.fixture
def world(regions):
    ensure_units(YIJIASHAN)
    secretary = StaffFactory(region_code=YIJIASHAN)
    secretary.set_password(PASSWORD)
    secretary.save()
    rider = WorkerFactory(display_name="丁建")
    earlier = raise_need(by=WorkerFactory(), title="取餐点附近没有充电的地方")
    tower = PartnerFactory(name="中国铁塔义乌分公司", kind=PartnerKind.OPERATOR, region_code=YIWU)
    resource(tower, title="义驾山换电柜电池槽", capacity=96)
    now = timezone.now()
    survey = survey_services.survey_create(actor=secretary, data=survey_services.SurveyInput(
        title="骑手充电情况调查", region_code=YIJIASHAN, opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=7)))
    survey_services.question_add(actor=secretary, survey_id=survey.pk,
                                 data=survey_services.QuestionInput(
                                     kind="single", text="跑单途中最大的困难是什么？",
                                     options=[survey_services.OptionInput("充电难"),
                                              survey_services.OptionInput("停车难")]))
    survey_services.survey_publish(actor=secretary, survey_id=survey.pk)
    return {"secretary": secretary, "rider": rider, "earlier": earlier, "survey": survey}


def test_from_survey_to_solved_problem(new_page, world, live_server):
    phone = new_page()
    browser_login(phone, world["rider"], live_server.url)

    # The survey, on the phone: one tap and submit.
    phone.goto(f"/surveys/a/{survey_token(world['survey'].pk)}/")
    phone.get_by_text("充电难").click()
    phone.locator("#submit-survey").click()
    expect(phone.locator("body")).to_contain_text("谢谢")

    # Then the need itself.
    phone.goto("/needs/new/")
    phone.locator("label[for=cat-charging]").click()
    phone.fill("input[name=title]", "充电慢、充电难，还不安全")
    phone.locator("#raise-form button[type=submit].big-action").click()
    mine = Need.objects.get(title="充电慢、充电难，还不安全")
    expect(phone.locator("body")).to_contain_text("充电慢、充电难，还不安全")

    # The secretary, at the desk: merge the earlier similar need into the rider's.
    desk = new_page()
    desk.set_viewport_size({"width": 1280, "height": 900})
    desk.goto("/accounts/staff/login/")
    desk.fill("input[name=username]", world["secretary"].username)
    desk.fill("input[name=password]", PASSWORD)
    desk.locator("form button", has_text="登录").click()
    desk.goto(f"/console/needs/{mine.pk}/")
    desk.locator(f"#src-{world['earlier'].pk}").check()
    desk.locator("#do-merge").click()
    expect(desk.locator("body")).to_contain_text("取餐点附近没有充电的地方")
    mine.refresh_from_db()
    assert mine.raised_count == 2
    assert Need.objects.get(pk=world["earlier"].pk).status == NeedStatus.MERGED

    # A project with the operator's resource, started and closed with its results.
    desk.goto(f"/console/alliance/needs/{mine.pk}/match/")
    expect(desk.get_by_test_id("suggestion").first).to_contain_text("义驾山换电柜电池槽")
    desk.get_by_role("link", name="为这条需求新建项目").click()
    desk.fill("input[name=title]", "义驾山换电柜布设")
    desk.get_by_role("button", name="保存").click()
    desk.select_option("#alloc-resource",
                       label=desk.locator("#alloc-resource option").first.inner_text())
    desk.fill("#alloc-qty", "96")
    desk.get_by_role("button", name="加入", exact=True).click()
    desk.get_by_role("button", name="启动项目").click()
    desk.get_by_role("link", name="完成项目").click()
    desk.fill("textarea[name=results]", "8 组换电柜 覆盖骑手 800 余人")
    desk.fill("textarea[name=outcome]", "换电柜已在党群服务中心投用，扫码即可换电。")
    desk.get_by_role("button", name="确认完成").click()
    expect(desk.locator("h1")).to_contain_text("已完成")

    # The rider sees the outcome and rates it; both raisers were told.
    phone.goto(f"/needs/{mine.pk}/")
    expect(phone.locator("#need-status")).to_contain_text("已解决")
    expect(phone.locator("body")).to_contain_text("换电柜已在党群服务中心投用")
    phone.locator("label[for=score-5]").click()
    phone.get_by_role("button", name="提交评价").click()
    expect(phone.locator("#my-rating")).to_contain_text("5")
    assert NeedFeedback.objects.get(need=mine, worker=world["rider"]).score == 5
    phone.goto("/accounts/inbox/")
    expect(phone.locator("#inbox")).to_contain_text("已解决")

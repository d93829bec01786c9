"""In chromium on a live server: the community secretary answers a need with the operator's
resource — from the need's match page to a closed project — and the rider sees the outcome
on the phone and rates it; the partner answers a routed need at 360 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from nuanxin.accounts.models import PartnerKind
from nuanxin.alliance.models import Project, ProjectStatus
from nuanxin.alliance.services import routings as routing_services
from nuanxin.needs.models import Need, NeedFeedback, NeedStatus
from tests.alliance.helpers import resource
from tests.factories.needs import raise_need
from tests.factories.people import (
    PartnerFactory,
    PartnerUserFactory,
    StaffFactory,
    WorkerFactory,
    browser_login,
)
from tests.factories.places import CHUITAI, YIJIASHAN, YIWU, ensure_units

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-browser-password"


@pytest.fixture
def story(regions):
    ensure_units(YIJIASHAN, CHUITAI)
    secretary = StaffFactory(region_code=YIJIASHAN)
    secretary.set_password(PASSWORD)
    secretary.save()
    rider = WorkerFactory(display_name="丁建")
    need = raise_need(by=rider, title="充电慢、充电难，还不安全", accept=True)
    tower = PartnerFactory(name="中国铁塔义乌分公司", kind=PartnerKind.OPERATOR, region_code=YIWU)
    resource(tower, title="义驾山换电柜电池槽", capacity=96)
    return {"secretary": secretary, "rider": rider, "need": need, "tower": tower}


def test_secretary_answers_a_need_with_a_project_and_the_rider_rates_it(new_page, story,
                                                                        live_server):
    desk = new_page()
    desk.set_viewport_size({"width": 1280, "height": 900})  # the console is a desk page
    desk.goto("/accounts/staff/login/")
    desk.fill("input[name=username]", story["secretary"].username)
    desk.fill("input[name=password]", PASSWORD)
    desk.locator("form button", has_text="登录").click()
    need = story["need"]
    desk.goto(f"/console/alliance/needs/{need.pk}/match/")
    suggestion = desk.get_by_test_id("suggestion").first
    expect(suggestion).to_contain_text("义驾山换电柜电池槽")
    expect(suggestion).to_contain_text("同社区")
    expect(suggestion).to_contain_text("剩余 96 个电池槽")
    desk.get_by_role("link", name="为这条需求新建项目").click()
    expect(desk.locator("input[name=title]")).to_have_value("充电慢、充电难，还不安全")
    desk.fill("input[name=title]", "义驾山换电柜布设")
    desk.get_by_role("button", name="保存").click()
    expect(desk.locator("h1")).to_contain_text("义驾山换电柜布设")
    desk.select_option("#alloc-resource", label=desk.locator("#alloc-resource option")
                       .first.inner_text())
    desk.fill("#alloc-qty", "96")
    desk.get_by_role("button", name="加入", exact=True).click()
    expect(desk.get_by_text("已加入资源。")).to_be_visible()
    desk.get_by_role("button", name="启动项目").click()
    desk.get_by_role("link", name="完成项目").click()
    desk.fill("textarea[name=results]", "8 组换电柜 覆盖骑手 800 余人")
    desk.fill("textarea[name=outcome]", "换电柜已在党群服务中心投用，扫码即可换电。")
    desk.get_by_role("button", name="确认完成").click()
    expect(desk.locator("h1")).to_contain_text("已完成")
    project = Project.objects.get(title="义驾山换电柜布设")
    assert project.status == ProjectStatus.CLOSED
    assert Need.objects.get(pk=need.pk).status == NeedStatus.RESOLVED

    phone = new_page()
    browser_login(phone, story["rider"], live_server.url)
    phone.goto(f"/needs/{need.pk}/")
    expect(phone.locator("#need-status")).to_contain_text("已解决")
    expect(phone.get_by_role("paragraph").filter(
        has_text="换电柜已在党群服务中心投用，扫码即可换电。")).to_be_visible()
    phone.locator("label[for=score-5]").click()
    phone.get_by_role("button", name="提交评价").click()
    expect(phone.locator("#my-rating")).to_contain_text("5")
    assert NeedFeedback.objects.get(need_id=need.pk).score == 5

    public = new_page()
    public.goto(f"/communities/{YIJIASHAN}/")
    expect(public.get_by_test_id("resolved")).to_contain_text("充电慢、充电难，还不安全")
    expect(public.get_by_test_id("resolved")).to_contain_text("中国铁塔义乌分公司")
    assert "丁建" not in public.content()


def test_partner_answers_on_the_phone(new_page, story, live_server):
    engineer = PartnerUserFactory(partner=story["tower"], username="tower.browser")
    engineer.set_password(PASSWORD)
    engineer.save()
    routing_services.routing_create(actor=story["secretary"], need_id=story["need"].pk,
                                    partner_id=story["tower"].pk,
                                    description="取餐点附近没有换电柜")
    phone = new_page()
    phone.goto("/partner/")
    phone.fill("input[name=username]", "tower.browser")
    phone.fill("input[name=password]", PASSWORD)
    phone.get_by_role("button", name="登录").click()
    expect(phone.get_by_test_id("pending-count")).to_have_text("1")
    phone.get_by_text("充电慢、充电难，还不安全").click()
    phone.get_by_text("提出方案：换个做法或部分能做").click()
    phone.fill("textarea[name=text]", "先在取餐点放 2 组试点")
    phone.get_by_role("button", name="提交答复").click()
    expect(phone.get_by_test_id("pending-count")).to_have_text("0")
    expect(phone.locator("body")).to_contain_text("提出方案")
    assert "丁建" not in phone.content()

"""The public accountability pages of a community and a street: what they show, that they
show no personal data, and 404 for codes that name no community or street."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nuanxin.accounts.models import PartnerKind
from nuanxin.accounts.phones import mask_phone
from nuanxin.alliance.services import partners as partner_services
from nuanxin.alliance.services import projects as project_services
from nuanxin.alliance.services.projects import ProjectInput
from nuanxin.needs import services as need_services
from nuanxin.voice import services as voice_services
from tests.alliance.helpers import resource, today
from tests.factories.needs import raise_need
from tests.factories.people import PartnerFactory, StaffFactory, WorkerFactory
from tests.factories.places import CHOUCHENG, CHUITAI, NEXT_DOOR, YIJIASHAN, YIWU

pytestmark = pytest.mark.django_db

PHONES = ["13911110001", "13911110002", "13911110003"]
NAMES = ["王小二", "李大壮", "赵敏敏"]


@pytest.fixture
def yijiashan():
    """The article's story in small: charging needs → a cabinet project with the operator,
    closed with results; a skills need still waiting; a legal need resolved privately; a
    published story with consent."""
    secretary = StaffFactory(region_code=YIJIASHAN)
    raisers = [WorkerFactory(phone=p, display_name=n) for p, n in zip(PHONES, NAMES, strict=True)]
    charging = [raise_need(by=r, title=f"充电难题{i}", accept=True) for i, r in enumerate(raisers)]
    raise_need(by=raisers[0], category="skills", title="想学技能", accept=True)
    legal = raise_need(by=raisers[1], category="legal", title="王小二被拖欠工资三个月", accept=True)
    need_services.need_resolve(actor=secretary, need_id=legal.pk, outcome="追回工资 6000 元")
    tower = PartnerFactory(name="中国铁塔义乌分公司", kind=PartnerKind.OPERATOR, region_code=YIWU)
    cabinets = resource(tower, capacity=96)
    partner_services.agreement_create(actor=secretary, partner_id=tower.pk, title="共建",
                                      starts_on=today(), ends_on=today() + timedelta(365))
    project = project_services.project_create(
        actor=secretary, data=ProjectInput(title="义驾山换电柜布设"),
        need_ids=tuple(n.pk for n in charging))
    project_services.project_allocate(actor=secretary, project_id=project.pk,
                                      resource_id=cabinets.pk, quantity=96)
    project_services.project_start(actor=secretary, project_id=project.pk)
    project_services.project_close(actor=secretary, project_id=project.pk,
                                   results="8 组换电柜 覆盖骑手 800 余人",
                                   outcome="换电柜已投用，扫码即可换电")
    open_project = project_services.project_create(
        actor=secretary, data=ProjectInput(title="骑手歇脚点改造", progress=30))
    project_services.project_start(actor=secretary, project_id=open_project.pk)
    story = voice_services.story_create(author=raisers[2], text="党群服务中心的灯一直亮着。",
                                        consent_publish=True, show_name=False)
    voice_services.story_publish(actor=secretary, story_id=story.pk)
    return {"raisers": raisers, "project": project}


def test_community_page_tells_the_story(client, yijiashan):
    response = client.get(f"/communities/{YIJIASHAN}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "义驾山社区" in html
    figures = html[html.index('data-testid="figures"'):html.index("大家反映最多的")]
    assert ">5<" in figures and ">4<" in figures  # raised, resolved
    assert html.index("充电") < html.index("技能提升")  # charging is the top need
    assert "充电难题0" in html and "义驾山换电柜布设" in html
    assert "中国铁塔义乌分公司" in html and "换电柜已投用，扫码即可换电" in html
    assert "8 组换电柜 覆盖骑手 800 余人" in html
    assert "骑手歇脚点改造" in html and "进度 30%" in html
    assert "党群服务中心的灯一直亮着" in html and "一位外卖骑手" in html


def test_the_page_holds_no_personal_data(client, yijiashan):
    html = client.get(f"/communities/{YIJIASHAN}/").content.decode()
    html += client.get(f"/streets/{CHOUCHENG}/").content.decode()
    for phone in PHONES:
        assert phone not in html and mask_phone(phone) not in html
    for name in NAMES:
        assert name not in html
    # a legal need is counted but neither its title nor its outcome is shown
    assert "拖欠工资" not in html and "6000" not in html
    assert "一件法律维权方面的事" in html


def test_street_page_adds_up_its_communities(client, yijiashan):
    raise_need(region_code=NEXT_DOOR, title="隔壁社区的需求", accept=True)
    response = client.get(f"/streets/{CHOUCHENG}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "稠城街道" in html and "隔壁社区的需求" not in html  # not resolved: not listed
    assert f"/communities/{YIJIASHAN}/" in html and "义驾山换电柜布设" in html
    assert ">6<" in html  # 5 in 义驾山 + 1 next door


@pytest.mark.parametrize("url", [
    "/communities/999999999999/", f"/communities/{CHOUCHENG}/", f"/communities/{YIWU}/",
    "/streets/999999999/", f"/streets/{YIJIASHAN}/", "/communities/abc/",
])
def test_unknown_codes_are_404(client, url):
    assert client.get(url).status_code == 404


def test_an_empty_community_page(client):
    html = client.get(f"/communities/{CHUITAI}/").content.decode()
    assert "这里还没有收集到需求" in html and "还没有公开的心里话" in html


def test_page_query_budget(client, yijiashan, django_assert_max_num_queries):
    for i in range(10):
        raise_need(title=f"更多需求{i}", accept=True)
    with django_assert_max_num_queries(20):
        assert client.get(f"/communities/{YIJIASHAN}/").status_code == 200

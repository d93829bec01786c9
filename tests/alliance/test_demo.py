"""The alliance's and voice's demo data on top of the people (and needs) demo: the
article's cabinet project closed with its needs resolved, 吹台's alliance with 26
co-building agreements, the night-school course, the three published voices."""

from __future__ import annotations

import random

import pytest
from django.utils import timezone

from nuanxin.accounts.models import Partner, User, UserKind
from nuanxin.alliance.demo import PROJECT_RESULTS, seed_alliance
from nuanxin.alliance.models import Agreement, NeedRouting, Project, ProjectStatus, Resource
from nuanxin.geo.models import Region, RegionLevel
from nuanxin.needs.models import Need, NeedStatus
from nuanxin.voice.demo import seed_voice
from nuanxin.voice.models import Story, StoryStatus
from tests.factories.places import CHUITAI

pytestmark = pytest.mark.django_db


def seed_people(rng):
    from nuanxin.ops.demo import ensure_org_units, seed_people

    communities = list(Region.objects.filter(level=RegionLevel.COMMUNITY)
                       .select_related("parent__parent").order_by("code"))
    seed_people(ensure_org_units(), communities, rng, workers=60)


@pytest.fixture
def seeded():
    rng = random.Random(2026)
    seed_people(rng)
    from nuanxin.needs.demo import seed_needs

    now = timezone.now()
    seed_needs(rng, workers=User.objects.filter(kind=UserKind.WORKER), now=now,
               background=20)
    seed_alliance(rng, now=now)
    seed_voice(rng, now=now)
    return now


def test_the_cabinet_project_is_closed_and_its_needs_resolved(seeded, client):
    project = Project.objects.get(title="义驾山换电柜布设")
    assert (project.status, project.results, project.progress) == (
        ProjectStatus.CLOSED, PROJECT_RESULTS, 100)
    needs = Need.objects.filter(pk__in=project.needs.values("need_id"))
    assert needs.exists() and set(needs.values_list("status", flat=True)) == {
        NeedStatus.RESOLVED}
    main = needs.order_by("-raised_count").first()
    assert main.raised_count > 10 and "换电柜" in main.outcome
    assert project.allocations.get().resource.partner.name == "中国铁塔义乌分公司"
    html = client.get("/communities/330782001001/").content.decode()
    assert "义驾山换电柜布设" in html and "8 组换电柜 覆盖骑手 800 余人" in html
    assert "取餐点换电柜加密（二期）" in html  # a cabinet project under way


def test_chuitai_alliance(seeded):
    agreements = Agreement.objects.filter(org_unit__region_id=CHUITAI)
    assert agreements.count() == 26
    today = timezone.localdate()
    active = agreements.filter(starts_on__lte=today, ends_on__gte=today)
    assert 0 < active.count() < 26
    assert Partner.objects.filter(agreements__in=agreements).distinct().count() >= 20
    course = Resource.objects.get(title="菁英夜校·美妆课")
    assert course.partner.name == "吹台暖新联盟·美妆企业" and course.region_id == CHUITAI
    night_school = Project.objects.get(title="菁英夜校 春季班")
    assert night_school.status == ProjectStatus.ACTIVE


def test_partner_pages_have_work(seeded, client):
    tower_user = User.objects.get(username="tower.yiwu")
    assert NeedRouting.objects.filter(partner=tower_user.partner_member.partner,
                                      status="routed").exists()
    client.force_login(tower_user)
    assert "待答复的需求" in client.get("/partner/").content.decode()
    assert NeedRouting.objects.filter(partner__name="吹台暖新联盟·美妆企业",
                                      status="proposed").exists()


def test_the_articles_voices_are_published(seeded, client):
    published = Story.objects.filter(status=StoryStatus.PUBLISHED)
    assert {s.display_name for s in published} == {"李华贤", "魏平", "李文琼"}
    assert all(s.consent_publish and s.show_name for s in published)
    assert Story.objects.filter(status=StoryStatus.SUBMITTED).count() == 2
    html = client.get("/communities/330304001001/").content.decode()
    assert "网约车司机 李文琼" in html and "那盏灯总亮着" in html


def test_without_the_needs_demo_a_need_is_raised_through_the_services():
    rng = random.Random(7)
    seed_people(rng)
    seed_alliance(rng, now=timezone.now())
    project = Project.objects.get(title="义驾山换电柜布设")
    need = Need.objects.get(pk=project.needs.get().need_id)
    assert need.status == NeedStatus.RESOLVED
    assert need.events.filter(action="needs.need.raised").exists()
    assert seed_alliance(rng, now=timezone.now()) == {"skipped": 1}

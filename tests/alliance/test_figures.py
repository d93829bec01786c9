"""The alliance's and voice's figures: registered, computed from records, traceable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from nuanxin.alliance.services import projects as project_services
from nuanxin.alliance.services.projects import ProjectInput
from nuanxin.common.stats import registered_stats, stat
from nuanxin.voice import services as voice_services
from tests.alliance.helpers import resource
from tests.factories.people import PartnerFactory, StaffFactory, WorkerFactory
from tests.factories.places import CHUITAI, OUHAI, YIJIASHAN, YIWU

pytestmark = pytest.mark.django_db

KEYS = ["alliance.projects.active", "alliance.projects.closed", "alliance.partners",
        "alliance.resources", "alliance.agreements", "alliance.project_cost",
        "voice.stories_published", "voice.stories_shared"]


def test_figures_are_registered_with_records():
    stats = registered_stats()
    for key in KEYS:
        assert key in stats and stats[key].records is not None, key


def test_figures_count_what_happened_where():
    secretary = StaffFactory(region_code=YIJIASHAN)
    chuitai = StaffFactory(region_code=CHUITAI)
    tower = PartnerFactory(region_code=YIWU)
    resource(tower)
    PartnerFactory(region_code=OUHAI)
    active = project_services.project_create(actor=secretary, data=ProjectInput(
        title="进行中", cost_fen=500_00))
    project_services.project_start(actor=secretary, project_id=active.pk)
    done = project_services.project_create(actor=secretary, data=ProjectInput(
        title="完成", cost_fen=1_000_00))
    project_services.project_start(actor=secretary, project_id=done.pk)
    project_services.project_close(actor=secretary, project_id=done.pk, results="完成了")
    dropped = project_services.project_create(actor=chuitai, data=ProjectInput(
        title="取消", cost_fen=9_999_00))
    project_services.project_cancel(actor=chuitai, project_id=dropped.pk, reason="不做了")
    rider = WorkerFactory()
    story = voice_services.story_create(author=rider, text="谢谢社区的热水和插座。",
                                        consent_publish=True)
    voice_services.story_publish(actor=secretary, story_id=story.pk)
    voice_services.story_create(author=rider, text="只给社区看的一段话。")

    def value(key, prefix=""):
        return stat(key).compute(prefix, None, None)

    assert value("alliance.projects.active", "3307") == 1
    assert value("alliance.projects.closed", "3307") == 1
    assert value("alliance.project_cost", "3307") == 150000
    assert value("alliance.project_cost") == 150000  # cancelled projects spent nothing
    assert value("alliance.partners", YIWU) == 1 and value("alliance.partners") >= 2
    assert value("alliance.resources", YIJIASHAN) == 1
    assert value("voice.stories_published", YIWU) == 1
    assert value("voice.stories_shared", YIWU) == 2
    assert list(stat("alliance.projects.closed").records("3307", None, None)) == [done]
    later = timezone.now() + timedelta(days=1)
    assert stat("alliance.projects.closed").compute("3307", later, None) == 0

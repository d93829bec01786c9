"""The demo needs list: the article's stories, consistent rows, deterministic."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from django.db.models import Count

from nuanxin.accounts.models import Notification
from nuanxin.common.stats import stat
from nuanxin.needs.demo import seed_needs
from nuanxin.needs.models import Need, NeedEvent, NeedFeedback, NeedFollower, NeedRaiser
from tests.factories.people import WorkerFactory
from tests.factories.places import (
    CHUITAI,
    HAIJINGYUAN,
    QIANJIANGYUAN,
    YANGHONG,
    YIJIASHAN,
    ensure_units,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
PLACES = (YIJIASHAN, YANGHONG, HAIJINGYUAN, QIANJIANGYUAN, CHUITAI)


@pytest.fixture
def riders():
    ensure_units(*PLACES)
    people = [WorkerFactory()]
    people += [WorkerFactory(home_region_code=PLACES[i % len(PLACES)]) for i in range(40)]
    return people


def _snapshot():
    return sorted(Need.objects.values_list("title", "status", "region_id", "raised_count",
                                           "category"))


def test_demo_needs_tell_the_articles_stories(riders):
    counts = seed_needs(random.Random(7), workers=riders, now=NOW, background=0)
    assert counts["merged"] >= 4 and counts["resolved"] >= 5
    main = Need.objects.get(title="义驾山周边电动车充电难，希望建换电柜")
    assert main.status == "accepted" and main.category == "charging"
    assert main.merged_needs.count() == 4
    assert main.raised_count == NeedRaiser.objects.filter(need=main).count() >= 14
    waiting = Need.objects.filter(region_id=YIJIASHAN, category="charging", status="submitted")
    assert waiting.count() == 3  # for the secretary to merge
    assert Need.objects.filter(region_id=YANGHONG, category="childcare").exists()
    assert Need.objects.filter(region_id=HAIJINGYUAN, category="legal",
                               status="resolved").exists()
    assert Need.objects.filter(region_id=QIANJIANGYUAN, category="traffic_parking").exists()
    # the demo rider has a resolved need to rate, and messages in the inbox
    demo = riders[0]
    to_rate = Need.objects.filter(raisers__worker=demo, status="resolved")
    assert to_rate.exists()
    assert not NeedFeedback.objects.filter(worker=demo).exists()
    assert Notification.objects.filter(user=demo, link__startswith="/needs/").exists()


def test_demo_rows_keep_the_services_invariants(riders):
    seed_needs(random.Random(7), workers=riders, now=NOW, background=200)
    assert Need.objects.count() > 200
    for need in Need.objects.exclude(status="merged").annotate(n=Count("raisers")):
        assert need.raised_count == need.n, need.title
    for raiser in NeedRaiser.objects.all():
        assert NeedFollower.objects.filter(need=raiser.need_id, user=raiser.worker_id).exists()
    assert not Need.objects.filter(status="merged", merged_into__isnull=True).exists()
    assert not Need.objects.filter(status="resolved", resolved_at__isnull=True).exists()
    assert not Need.objects.filter(resolved_at__gt=NOW).exists()
    assert not Need.objects.filter(events__isnull=True).exists()
    assert not Need.objects.filter(status="in_project").exists()
    raised = NeedEvent.objects.filter(action="needs.need.raised").count()
    assert raised == Need.objects.count()
    for feedback in NeedFeedback.objects.select_related("need"):
        assert feedback.need.status == "resolved"
        assert NeedRaiser.objects.filter(need=feedback.need, worker=feedback.worker).exists()
    assert stat("needs.resolved").compute("", None, None) > 0
    assert stat("needs.satisfaction").compute("", None, None) is not None


def test_demo_needs_are_deterministic(riders):
    seed_needs(random.Random(11), workers=riders, now=NOW, background=50)
    first = _snapshot()
    Notification.objects.all().delete()
    Need.objects.filter(merged_into__isnull=False).delete()
    Need.objects.all().delete()
    seed_needs(random.Random(11), workers=riders, now=NOW, background=50)
    assert _snapshot() == first

"""Correctness at the size of a real province: 50,000 needs written in bulk, then the
registered figures and the staff list checked against numbers computed here, independently,
from the rows as generated. (Speed is measured in bench/, never in tests.)"""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from nuanxin.accounts.models import User
from nuanxin.common.stats import stat
from nuanxin.geo.models import Region
from nuanxin.needs.models import Need, NeedCategory, NeedFeedback
from tests.factories.people import StaffFactory, WorkerFactory, login
from tests.factories.places import CHOUCHENG, CHUITAI, QIANJIANGYUAN, YIJIASHAN, YIWU, org_unit_for

pytestmark = pytest.mark.django_db

N = 50_000
PLACES = [YIJIASHAN, CHUITAI, QIANJIANGYUAN, CHOUCHENG]
STATUS_WEIGHTS = [("submitted", 20), ("accepted", 15), ("in_project", 10), ("resolved", 35),
                  ("declined", 6), ("not_feasible", 6), ("merged", 8)]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _generate(rng: random.Random, workers: list[User]):
    units = {code: org_unit_for(code) for code in PLACES}
    regions = {code: Region.objects.get(code=code) for code in PLACES}
    statuses, weights = zip(*STATUS_WEIGHTS, strict=True)
    categories = NeedCategory.values
    rows = []
    for i in range(N):
        code = rng.choice(PLACES)
        status = rng.choices(statuses, weights)[0]
        created = T0 + timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        accepted = (created + timedelta(hours=rng.randrange(1, 240))
                    if status not in ("submitted", "declined", "merged") else None)
        resolved = (accepted + timedelta(hours=rng.randrange(1, 24 * 90))
                    if status == "resolved" else None)
        rows.append({
            "i": i, "code": code, "status": status, "category": rng.choice(categories),
            "urgency": rng.randint(1, 3), "created": created, "accepted": accepted,
            "resolved": resolved,
        })
    # merged needs point at an earlier open one: written in a second pass
    first = [r for r in rows if r["status"] != "merged"]
    objs = [Need(title=f"需求 {r['i']}", category=r["category"], source="online",
                 region=regions[r["code"]], owner=units[r["code"]], urgency=r["urgency"],
                 status=r["status"], created_at=r["created"], accepted_at=r["accepted"],
                 resolved_at=r["resolved"], raised_count=1) for r in first]
    Need.objects.bulk_create(objs, batch_size=5000)
    for r, obj in zip(first, objs, strict=True):
        r["id"] = obj.pk
    targets = [r for r in first if r["status"] in ("submitted", "accepted")]
    second = [r for r in rows if r["status"] == "merged"]
    objs = []
    for r in second:
        target = rng.choice(targets)
        objs.append(Need(title=f"需求 {r['i']}", category=target["category"], source="online",
                         region=regions[r["code"]], owner=units[r["code"]],
                         urgency=r["urgency"], status="merged", merged_into_id=target["id"],
                         created_at=r["created"], raised_count=0))
    Need.objects.bulk_create(objs, batch_size=5000)
    for r, obj in zip(second, objs, strict=True):
        r["id"] = obj.pk
    # one rating from some of the workers on a third of the resolved needs
    ratings = []
    feedback = []
    for r in rows:
        if r["status"] == "resolved" and rng.random() < 0.33:
            score = rng.randint(1, 5)
            at = r["resolved"] + timedelta(days=1)
            ratings.append({"code": r["code"], "score": score, "at": at})
            feedback.append(NeedFeedback(need_id=r["id"], worker=rng.choice(workers),
                                         score=score, at=at))
    NeedFeedback.objects.bulk_create(feedback, batch_size=5000)
    return rows, ratings


def _in(value, start, end):
    return value is not None and (start is None or value >= start) and (end is None
                                                                          or value < end)


WINDOWS = [
    ("", None, None),
    (YIJIASHAN, None, None),
    (YIWU, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)),
    ("3303", datetime(2026, 6, 1, tzinfo=UTC), None),
    ("330102", None, datetime(2026, 2, 15, tzinfo=UTC)),
]


def test_figures_and_staff_list_stay_correct_with_50000_needs(client):
    rng = random.Random(20260201)
    workers = [WorkerFactory(home_region_code=None) for _ in range(20)]
    rows, ratings = _generate(rng, workers)
    assert Need.objects.count() == N

    for prefix, start, end in WINDOWS:
        mine = [r for r in rows if r["code"].startswith(prefix)]
        raised = sum(1 for r in mine if r["status"] != "merged" and _in(r["created"], start, end))
        accepted = sum(1 for r in mine if _in(r["accepted"], start, end))
        resolved = [r for r in mine if r["status"] == "resolved"
                    and _in(r["resolved"], start, end)]
        days = [(r["resolved"] - r["created"]).total_seconds() / 86400 for r in resolved]
        scores = [x["score"] for x in ratings
                  if x["code"].startswith(prefix) and _in(x["at"], start, end)]
        assert stat("needs.raised").compute(prefix, start, end) == raised
        assert stat("needs.accepted").compute(prefix, start, end) == accepted
        assert stat("needs.resolved").compute(prefix, start, end) == len(resolved)
        assert stat("needs.median_days_to_resolution").compute(prefix, start, end) == \
            pytest.approx(statistics.median(days))
        assert stat("needs.satisfaction").compute(prefix, start, end) == \
            round(statistics.fmean(scores), 2)
        assert stat("needs.resolved").records(prefix, start, end).count() == len(resolved)

    # The street office's list: total and first page, open needs before closed ones (none
    # has a target date here, so none is overdue), then most urgent and newest first.
    login(client, StaffFactory(role="street_admin", region_code=CHOUCHENG))
    in_street = [r for r in rows if r["code"].startswith(CHOUCHENG)]
    still_open = {"submitted", "accepted", "in_project"}
    expected = sorted(in_street, key=lambda r: (r["status"] not in still_open, -r["urgency"],
                                                -r["created"].timestamp(), -r["id"]))[:50]
    page = client.get("/api/v1/needs", {"page_size": 50}).json()
    assert page["count"] == len(in_street)
    assert [r["id"] for r in page["results"]] == [r["id"] for r in expected]
    resolved_only = client.get("/api/v1/needs", {"page_size": 1, "status": "resolved"}).json()
    assert resolved_only["count"] == sum(1 for r in in_street if r["status"] == "resolved")

"""Benchmark: the needs pipeline's result pages at province size.

    python bench/needs.py            # or: make bench-needs

Into the database the environment names (DATABASE_URL, else the SQLite file under
NUANXIN_VAR_DIR — use a scratch one), it loads the demo when empty, then brings the needs
list to 50,000 needs and the demo's anonymous survey to 100,000 responses by bulk insert (once;
later runs reuse them). It starts the real platform (`nuanxin run --no-seed`), logs a
district administrator in through a session cookie, and requests each results page
sequentially over one keep-alive connection, beside /healthz as the baseline measured in the
same run. Prints p50/p95 latency of each page and its ratio to the baseline.

Target (issue 4): every results page under 300 ms at that size.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nearby import django_setup, free_port, start_server, stop_server  # noqa: E402

NEEDS = 50_000
ANSWERS = 100_000
PLACES = ["330782001001", "330304001001", "330102001001", "330212001001", "331004001001"]


def load_needs(rng: random.Random) -> int:
    from nuanxin.geo.models import Region
    from nuanxin.needs.models import Need, NeedCategory, NeedEvent, NeedFeedback
    from nuanxin.needs.services import owner_for_region

    have = Need.objects.count()
    if have >= NEEDS:
        return have
    regions = {code: Region.objects.get(code=code) for code in PLACES}
    owners = {code: owner_for_region(region) for code, region in regions.items()}
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    statuses = ["submitted", "accepted", "in_project", "resolved", "declined", "not_feasible"]
    weights = [20, 15, 10, 45, 5, 5]
    batch = []
    for i in range(NEEDS - have):
        code = rng.choice(PLACES)
        status = rng.choices(statuses, weights)[0]
        created = t0 + timedelta(minutes=rng.randrange(0, 300 * 24 * 60))
        accepted = created + timedelta(hours=rng.randrange(1, 200)) \
            if status not in ("submitted", "declined") else None
        resolved = accepted + timedelta(hours=rng.randrange(1, 2000)) \
            if status == "resolved" else None
        batch.append(Need(
            title=f"批量需求 {i}", category=rng.choice(NeedCategory.values), source="online",
            region=regions[code], owner=owners[code], urgency=rng.randint(1, 3),
            status=status, created_at=created, accepted_at=accepted, resolved_at=resolved,
            outcome="已处理" if status in ("resolved", "declined", "not_feasible") else "",
            raised_count=1,
        ))
    made = Need.objects.bulk_create(batch, batch_size=5000)
    NeedEvent.objects.bulk_create(
        [NeedEvent(need=n, action="needs.need.raised", to_status=n.status, at=n.created_at)
         for n in made], batch_size=5000)
    from nuanxin.accounts.models import User

    workers = list(User.objects.filter(kind="worker").values_list("pk", flat=True)[:500])
    NeedFeedback.objects.bulk_create(
        [NeedFeedback(need=n, worker_id=rng.choice(workers), score=rng.randint(1, 5),
                      at=n.resolved_at) for n in made if n.status == "resolved"
         and rng.random() < 0.3], batch_size=5000, ignore_conflicts=True)
    return Need.objects.count()


def load_answers(rng: random.Random) -> tuple[int, int]:
    """Bring the demo's anonymous survey to ANSWERS responses; returns (survey id, count).

    (Anonymous, because identified responses need one worker each.)"""
    from nuanxin.surveys.models import Answer, Response, Survey

    survey = Survey.objects.filter(anonymous=True).order_by("pk").first()
    if survey is None:
        raise SystemExit("the demo's anonymous survey is missing: seed an empty database first")
    have = survey.responses.count()
    questions = list(survey.questions.prefetch_related("options", "show_if_options")
                     .order_by("position"))
    day = survey.opens_at.date()
    for start in range(have, ANSWERS, 5000):
        responses, answers = [], []
        for _ in range(min(5000, ANSWERS - start)):
            response = Response(survey=survey, anonymous=survey.anonymous, submitted_on=day)
            responses.append(response)
            chosen: dict[int, set[int]] = {}
            for q in questions:
                if q.show_if_id:
                    wanted = {o.pk for o in q.show_if_options.all()}
                    if not chosen.get(q.show_if_id, set()) & wanted:
                        continue
                options = list(q.options.all())
                if q.kind == "single" and options:
                    pick = [rng.choice(options)]
                elif q.kind == "multiple" and options:
                    pick = rng.sample(options, rng.randint(1, min(3, len(options))))
                else:
                    pick = []
                chosen[q.pk] = {o.pk for o in pick}
                if pick:
                    answers += [Answer(response=response, question=q, option=o) for o in pick]
                elif q.kind == "rating":
                    answers.append(Answer(response=response, question=q,
                                          number=rng.randint(1, q.scale_max or 5)))
                elif rng.random() < 0.1:
                    answers.append(Answer(response=response, question=q, text="充电桩太少"))
        Response.objects.bulk_create(responses, batch_size=5000)
        Answer.objects.bulk_create(answers, batch_size=5000)
    return survey.pk, survey.responses.count()


def staff_cookie() -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from nuanxin.accounts.decorators import SESSION_TOTP_OK
    from nuanxin.accounts.models import User

    user = User.objects.get(username="yiwu.admin")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[SESSION_TOTP_OK] = True
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def measure(port: int, path: str, cookie: str, n: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    timings = []
    for i in range(n + 3):
        start = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": cookie, "Accept-Language": "zh-hans"})
        response = conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - start
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status}: {body[:200]!r}")
        if i >= 3:  # the first requests warm the process
            timings.append(elapsed * 1000)
    conn.close()
    return timings


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=40, help="requests per page")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    os.environ.setdefault("NUANXIN_VAR_DIR", str(Path(tempfile.gettempdir()) / "nuanxin-bench"))
    django_setup()
    from django.core.management import call_command
    from django.db import connection

    from nuanxin.ops import demo

    call_command("migrate", verbosity=0)
    if not demo.is_seeded():
        print("loading the demo data ...", flush=True)
        demo.seed()
    rng = random.Random(args.seed)
    print("bulk-loading needs and answers (first run only) ...", flush=True)
    needs = load_needs(rng)
    survey_id, answers = load_answers(rng)
    vendor = connection.vendor
    cookie = staff_cookie()
    connection.close()

    pages = [
        ("baseline /healthz", "/healthz"),
        ("needs console list (义乌)", "/console/needs/"),
        ("needs console, overdue only", "/console/needs/?overdue=1"),
        ("needs API list", "/api/v1/needs?page=1&page_size=50"),
        ("community accountability page", "/communities/330782001001/"),
        ("street accountability page", "/streets/330782001/"),
    ]
    pages.append(("survey results", f"/console/surveys/{survey_id}/results/"))
    port = free_port()
    log = Path(tempfile.gettempdir()) / "nuanxin-bench-needs-server.log"
    proc = start_server(port, workers=2, log=log)
    try:
        rows = [(label, measure(port, path, cookie, args.requests)) for label, path in pages]
    finally:
        stop_server(proc)
    base = statistics.median(rows[0][1])
    print(f"\n{vendor}: {needs:,} needs, {answers:,} responses to one survey, "
          f"{args.requests} sequential requests per page")
    print(f"{'page':<36} {'p50 ms':>8} {'p95 ms':>8} {'p50/baseline':>13}")
    for label, timings in rows:
        p50 = statistics.median(timings)
        print(f"{label:<36} {p50:>8.1f} {p95(timings):>8.1f} {p50 / base:>13.1f}")
    worst = max(p95(t) for _label, t in rows[1:])
    print(f"\nslowest p95 {worst:.0f} ms — target < 300 ms: {'met' if worst < 300 else 'MISSED'}")


if __name__ == "__main__":
    main()

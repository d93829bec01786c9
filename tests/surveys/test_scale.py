"""Results stay correct with 100,000 answers, and cost a fixed handful of queries.

The rows are bulk-inserted (as an import would); the expected figures are counted here in
Python while generating them, independently of the GROUP BY queries under test. Speed is
bench/'s business: nothing here is timed."""

from __future__ import annotations

import random
import uuid
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from nuanxin.surveys import selectors
from nuanxin.surveys.models import Answer, Response
from nuanxin.surveys.selectors.results import OTHER_KEY
from tests.factories.people import StaffFactory
from tests.surveys.helpers import charging_survey

pytestmark = pytest.mark.django_db

N = 100_000


def _insert(model, fields: list[str], rows: list[tuple]) -> None:
    """Plain multi-row INSERTs (what an import would do), far quicker than model objects."""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(f).column)
                        for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":  # random keys: keep the indexes' pages in memory
            cursor.execute("PRAGMA cache_size = -262144")
        for start in range(0, len(rows), 10_000):
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608
                               rows[start:start + 10_000])


def _uuids(rng: random.Random):
    """Random version-4 UUIDs as the database wants them (hex text on SQLite)."""
    as_text = connection.vendor == "sqlite"
    while True:
        value = uuid.UUID(int=rng.getrandbits(128), version=4)
        yield value.hex if as_text else value


def test_results_with_100000_answers(django_assert_max_num_queries):
    staff = StaffFactory()
    survey, q = charging_survey(staff, anonymous=True)
    ids = {k: [o.pk for o in v.options.all()] for k, v in q.items()}
    rng = random.Random(100_000)
    today = timezone.localdate()
    day = today.isoformat() if connection.vendor == "sqlite" else today
    new_id = _uuids(random.Random(1)).__next__
    responses, answers = [], []
    pain, pain_answered, detail, detail_shown, rating, cabinet = (Counter(), 0, Counter(), 0,
                                                                   Counter(), Counter())
    texts = 0
    pair = Counter()  # (pain key, cabinet option) -> respondents
    for _i in range(N):
        response = new_id()
        responses.append((response, survey.pk, True, day))
        ticked = [o for o, p in zip(ids["pain"], (0.9, 0.35, 0.3), strict=True)
                  if rng.random() < p]
        other = rng.random() < 0.05
        if not ticked and not other:
            ticked = [ids["pain"][1]]
        pain_answered += 1
        pain.update(ticked)
        answers += [(new_id(), response, q["pain"].pk, o, None, "") for o in ticked]
        if other:
            pain[OTHER_KEY] += 1
            answers.append((new_id(), response, q["pain"].pk, None, None, "其他"))
        if ids["pain"][0] in ticked:  # the conditional question is shown
            detail_shown += 1
            chosen = [o for o in ids["detail"] if rng.random() < 0.5] or [ids["detail"][0]]
            detail.update(chosen)
            answers += [(new_id(), response, q["detail"].pk, o, None, "") for o in chosen]
        value = rng.randint(1, 5)
        rating[value] += 1
        answers.append((new_id(), response, q["rating"].pk, None, value, ""))
        choice = rng.choice(ids["cabinet"])
        cabinet[choice] += 1
        answers.append((new_id(), response, q["cabinet"].pk, choice, None, ""))
        for key in ticked + ([OTHER_KEY] if other else []):
            pair[(key, choice)] += 1
        if rng.random() < 0.02:
            texts += 1
            answers.append((new_id(), response, q["text"].pk, None, None, "建议"))
    _insert(Response, ["id", "survey", "anonymous", "submitted_on"], responses)
    answers.sort(key=lambda row: row[1])  # by response: most indexes fill in order
    _insert(Answer, ["id", "response", "question", "option", "number", "text"], answers)

    with django_assert_max_num_queries(8):
        results = selectors.survey_results(survey)
    assert results.responses == N and not results.withheld
    r_pain, r_detail, r_rating, r_cabinet, r_text = results.questions
    assert (r_pain.shown, r_pain.answered) == (N, pain_answered)
    assert {b.key: b.count for b in r_pain.buckets} == {
        **{o: pain[o] for o in ids["pain"]}, OTHER_KEY: pain[OTHER_KEY]}
    assert r_pain.buckets[0].percent == round(100 * pain[ids["pain"][0]] / N, 1)
    assert (r_detail.shown, r_detail.answered) == (detail_shown, detail_shown)
    assert {b.key: b.count for b in r_detail.buckets} == dict(detail)
    assert {b.key: b.count for b in r_rating.buckets} == dict(rating)
    assert r_rating.mean == round(sum(k * v for k, v in rating.items()) / N, 2)
    assert {b.key: b.count for b in r_cabinet.buckets} == dict(cabinet)
    assert (r_text.shown, r_text.answered, r_text.skipped) == (N, texts, N - texts)

    with django_assert_max_num_queries(8):
        tab = selectors.crosstab(survey, q["pain"].pk, q["cabinet"].pk)
    assert tab.cells == dict(pair)
    assert tab.both == N

"""Two submissions of the same worker racing each other: one answer is recorded.

Races need a database that lets writers run at the same time: PostgreSQL. SQLite
serialises writers (BEGIN IMMEDIATE), so there is no race to test there."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from nuanxin.common.errors import ServiceError
from nuanxin.surveys import services
from nuanxin.surveys.models import Answer, Participation, Response
from tests.factories.people import StaffFactory, WorkerFactory
from tests.surveys.helpers import answer, charging_survey

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="SQLite serialises writers, so two submissions cannot race; "
                       "run with DATABASE_URL=postgres://... to test the race"),
]


@pytest.mark.parametrize("anonymous", [False, True])
def test_two_concurrent_submissions_record_one_answer(regions, anonymous):
    survey, q = charging_survey(StaffFactory(), anonymous=anonymous)
    worker = WorkerFactory()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(rating: int) -> None:
        try:
            barrier.wait(timeout=10)
            services.response_submit(worker=worker, survey_id=survey.pk,
                                     answers=answer(q, rating=rating))
            outcomes.append("recorded")
        except ServiceError as error:
            outcomes.append(error.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(r,)) for r in (1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["already_answered", "recorded"]
    assert Participation.objects.filter(survey=survey, worker=worker).count() == 1
    assert Response.objects.filter(survey=survey).count() == 1
    assert Answer.objects.filter(question=q["rating"]).count() == 1

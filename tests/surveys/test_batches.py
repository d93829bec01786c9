"""Anonymous results move only in batches of five answers: someone polling the results
before and after one rider presses "submit" sees nothing change unless a batch filled up
(page, API, cross-tab, texts and export alike). Identified surveys count every answer."""

from __future__ import annotations

import io
import threading

import pytest
from django.db import connection, connections
from django.test import Client
from openpyxl import load_workbook

from nuanxin.surveys import services
from nuanxin.surveys.models import RESULTS_BATCH, Response
from tests.factories.people import StaffFactory, WorkerFactory, login
from tests.factories.places import YIWU
from tests.surveys.helpers import answer, charging_survey

pytestmark = pytest.mark.django_db


def _poll(client, survey, q) -> dict:
    """Everything a watcher can read about the results."""
    base = f"/api/v1/surveys/{survey.pk}"
    results = client.get(f"{base}/results").json()
    results.pop("survey", None)  # the survey summary counts participants, not answers
    seen = {"results": results}
    if not results["withheld"]:
        cross = client.get(f"{base}/results/crosstab",
                           {"row": q["pain"].pk, "col": q["cabinet"].pk})
        seen["crosstab"] = cross.json()
        seen["texts"] = client.get(f"{base}/questions/{q['text'].pk}/texts").json()
        book = load_workbook(io.BytesIO(
            client.get(f"/console/surveys/{survey.pk}/results.xlsx").content))
        seen["export"] = sorted(str(r) for ws in book for r in ws.iter_rows(values_only=True))
    return seen


def _submit(survey, q, i, worker=None):
    services.response_submit(worker=worker or WorkerFactory(), survey_id=survey.pk, answers=answer(
        q, pains=(1 + i % 3,), rating=1 + i % 5, cabinet=1 + i % 3, text=f"第{i}条建议"))


def test_one_answer_changes_nothing_a_watcher_can_see_until_a_batch_fills():
    staff = StaffFactory(role="district_admin", region_code=YIWU)
    survey, q = charging_survey(staff, anonymous=True)
    client = login(Client(HTTP_HOST="127.0.0.1"), staff)
    riders = [WorkerFactory() for _i in range(2 * RESULTS_BATCH + 2)]  # the target group
    before = _poll(client, survey, q)
    changes = []
    for i, rider in enumerate(riders, start=1):
        _submit(survey, q, i, rider)
        after = _poll(client, survey, q)
        changes.append(after != before)
        before = after
        released = after["results"]["responses"]
        assert released == (i // RESULTS_BATCH) * RESULTS_BATCH
        assert after["results"]["withheld"] == (i < RESULTS_BATCH)
    # 12 answers: the view moved exactly at the 5th and the 10th.
    assert [n for n, changed in enumerate(changes, start=1) if changed] == [5, 10]
    assert len(before["texts"]["results"]) == 10


def test_the_results_page_says_the_results_move_in_batches():
    staff = StaffFactory()
    survey, q = charging_survey(staff, anonymous=True)
    for i in range(RESULTS_BATCH + 1):
        _submit(survey, q, i)
    client = login(Client(HTTP_HOST="127.0.0.1"), staff)
    page = client.get(f"/console/surveys/{survey.pk}/results/").content.decode()
    assert "每满 5 份更新一次" in page


def test_the_export_gives_the_week_not_the_day():
    staff = StaffFactory()
    survey, q = charging_survey(staff, anonymous=True)
    for i in range(RESULTS_BATCH):
        _submit(survey, q, i)
    client = login(Client(HTTP_HOST="127.0.0.1"), staff)
    book = load_workbook(io.BytesIO(
        client.get(f"/console/surveys/{survey.pk}/results.xlsx").content))
    weeks = {row[1] for row in book["答卷"].iter_rows(min_row=2, values_only=True)}
    day = Response.objects.filter(survey=survey).first().submitted_on
    assert len(weeks) == 1
    week = weeks.pop().date()
    assert week.weekday() == 0 and 0 <= (day - week).days < 7


def test_identified_surveys_count_every_answer():
    staff = StaffFactory()
    survey, q = charging_survey(staff)
    client = login(Client(HTTP_HOST="127.0.0.1"), staff)
    for i in range(1, 4):
        _submit(survey, q, i)
        assert client.get(f"/api/v1/surveys/{survey.pk}/results").json()["responses"] == i


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="SQLite serialises writers; run with DATABASE_URL=postgres://...")
def test_two_racing_answers_never_release_a_batch_of_one(regions):
    survey, q = charging_survey(StaffFactory(), anonymous=True)
    for i in range(RESULTS_BATCH - 1):
        _submit(survey, q, i)
    barrier = threading.Barrier(2)
    workers = [WorkerFactory(), WorkerFactory()]

    def submit(worker) -> None:
        try:
            barrier.wait(timeout=10)
            services.response_submit(worker=worker, survey_id=survey.pk, answers=answer(q))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    counted = Response.objects.filter(survey=survey, released=True).count()
    waiting = Response.objects.filter(survey=survey, released=False).count()
    assert (counted, waiting) == (RESULTS_BATCH, 1)

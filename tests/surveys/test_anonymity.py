"""An administrator cannot link an anonymous answer to a worker: not through the API, not
through the console pages, not through the export. The tests look at the actual bytes.

The workers get distinctive ids, phone numbers and names, and answer at distinctive
times, so any trace of them in a response would be found by a plain substring search."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from nuanxin.accounts.personal_data import personal_data_export
from nuanxin.surveys import services
from nuanxin.surveys.models import Answer, Participation, Response
from tests.factories.people import StaffFactory, SuperuserFactory, WorkerFactory, login
from tests.factories.places import YIJIASHAN, YIWU
from tests.surveys.helpers import answer, charging_survey

pytestmark = pytest.mark.django_db

FIRST_ID = 987_654_301


@pytest.fixture
def anonymous_survey():
    staff = StaffFactory()
    survey, q = charging_survey(staff, anonymous=True,
                                opens_at=timezone.now() - timedelta(days=3))
    workers, moments = [], []
    # Twelve hours away from the clock, so no time the pages show for other reasons (the
    # staff's own actions, the window) can look like an answer's moment.
    local = timezone.localtime(timezone.now() - timedelta(days=2))
    base = local.replace(hour=(local.hour + 12) % 24, minute=37, second=13,
                         microsecond=246_802)
    for i in range(10):  # two whole batches: every answer counted
        worker = WorkerFactory(id=FIRST_ID + i, phone=f"1390707{i:04d}",
                               display_name=f"匿名测试骑手{i}", home_region_code=YIJIASHAN)
        at = base + timedelta(minutes=7 * i, seconds=i)
        services.response_submit(worker=worker, survey_id=survey.pk, at=at,
                                 answers=answer(q, pains=(1, 2) if i % 2 else (1,),
                                                text=f"建议{i}", other="雨天" if i == 3 else ""))
        workers.append(worker)
        moments.append(at)
    return survey, q, workers, moments


def _traces(workers, moments) -> list[str]:
    """Strings that would tie an answer to a person or to its exact moment."""
    out = []
    for w in workers:
        out += [str(w.pk), w.phone, w.masked_phone, w.display_name, w.username]
    for at in moments:
        local = timezone.localtime(at)
        out += [at.isoformat(), local.isoformat(), local.strftime("%H:%M"),
                local.strftime("%H:%M:%S"), at.strftime("%H:%M"), str(at.timestamp())[:10]]
    return out


def _assert_clean(text: str, workers, moments, where: str) -> None:
    for trace in _traces(workers, moments):
        assert trace not in text, f"{where} reveals {trace!r}"


def _admins():
    district = StaffFactory(role="district_admin", region_code=YIWU)
    return [("superuser", SuperuserFactory()), ("district_admin", district)]


def test_the_rows_hold_no_person_and_no_time(anonymous_survey):
    survey, _q, workers, _moments = anonymous_survey
    for response in Response.objects.filter(survey=survey):
        assert response.respondent_id is None and response.submitted_at is None
        assert response.submitted_on is not None
    # what the tables can hold at all: no link from an answer to a person or a moment
    fields = {f.name: f for f in Response._meta.get_fields() if f.concrete}
    assert set(fields) == {"id", "survey", "anonymous", "respondent", "submitted_on",
                           "submitted_at", "released"}
    assert fields["released"].get_internal_type() == "BooleanField"  # a flag, not a moment
    assert fields["id"].get_internal_type() == "UUIDField"
    participation = {f.name: f.get_internal_type()
                     for f in Participation._meta.get_fields() if f.concrete}
    assert participation == {"id": "UUIDField", "survey": "ForeignKey", "worker": "ForeignKey"}
    assert Answer._meta.pk.get_internal_type() == "UUIDField"
    assert Participation.objects.filter(survey=survey).count() == len(workers)


@pytest.mark.parametrize("who", ["superuser", "district_admin"])
def test_api_reveals_no_respondent(anonymous_survey, who):
    survey, q, workers, moments = anonymous_survey
    admin = dict(_admins())[who]
    client = login(Client(HTTP_HOST="127.0.0.1"), admin)
    urls = [
        "/api/v1/surveys",
        f"/api/v1/surveys/{survey.pk}",
        f"/api/v1/surveys/{survey.pk}/results",
        f"/api/v1/surveys/{survey.pk}/results/crosstab?row={q['pain'].pk}&col={q['cabinet'].pk}",
        f"/api/v1/surveys/{survey.pk}/questions/{q['text'].pk}/texts",
        f"/api/v1/surveys/{survey.pk}/questions/{q['pain'].pk}/texts",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.content[:300])
        body = response.content.decode()
        _assert_clean(body, workers, moments, url)
        assert "respondent" not in body
    texts = client.get(urls[4]).json()["results"]
    assert {t["text"] for t in texts} == {f"建议{i}" for i in range(10)}
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", t["date"]) for t in texts)


@pytest.mark.parametrize("who", ["superuser", "district_admin"])
def test_console_pages_reveal_no_respondent(anonymous_survey, who):
    survey, q, workers, moments = anonymous_survey
    admin = dict(_admins())[who]
    client = login(Client(HTTP_HOST="127.0.0.1"), admin)
    base = f"/console/surveys/{survey.pk}"
    urls = ["/console/surveys/", f"{base}/", f"{base}/results/",
            f"{base}/results/?row={q['pain'].pk}&col={q['rating'].pk}",
            f"{base}/results/texts/{q['text'].pk}/", f"{base}/results/texts/{q['pain'].pk}/",
            f"{base}/preview/", f"{base}/qr/"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_clean(response.content.decode(), workers, moments, url)
    # and there is no page that lists responses one by one, not even Django's admin
    if admin.is_superuser:
        assert client.get("/admin/surveys/response/").status_code == 404
        assert client.get("/admin/surveys/participation/").status_code == 404


def test_export_reveals_no_respondent(anonymous_survey):
    survey, q, workers, moments = anonymous_survey
    client = login(Client(HTTP_HOST="127.0.0.1"), SuperuserFactory())
    response = client.get(f"/console/surveys/{survey.pk}/results.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    sheet = book["答卷"]
    head = [c.value for c in sheet[1]]
    assert head[:2] == ["序号", "提交周（周一）"]  # no respondent column at all
    assert "答卷人编号" not in head
    cells = []
    for ws in book.worksheets:
        for row in ws.iter_rows(values_only=True):
            for value in row:
                if value is None:
                    continue
                if hasattr(value, "hour"):  # a date cell comes back as midnight
                    assert (value.hour, value.minute, value.second) == (0, 0, 0)
                cells.append(str(value))
    _assert_clean("\n".join(cells), workers, moments, "export")
    # the rows are in no particular order: not the order people answered in
    texts = [row[head.index(f"{q['text'].position}. {q['text'].text}")]
             for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(texts) == [f"建议{i}" for i in range(10)]
    # the workbook's own metadata carries no person either
    _assert_clean(str(vars(book.properties)), workers, moments, "export properties")


def test_the_worker_cannot_get_their_anonymous_answers_back(anonymous_survey):
    survey, _q, workers, _moments = anonymous_survey
    export = personal_data_export(workers[0])
    assert export["surveys"] == [{"survey_id": survey.pk, "title": survey.title,
                                  "anonymous": True}]


def test_identified_surveys_do_keep_the_respondent():
    staff = StaffFactory()
    survey, q = charging_survey(staff)
    worker = WorkerFactory(home_region_code=YIJIASHAN)
    services.response_submit(worker=worker, survey_id=survey.pk, answers=answer(q))
    response = Response.objects.get(survey=survey)
    assert response.respondent == worker and response.submitted_at is not None
    export = personal_data_export(worker)["surveys"][0]
    assert export["answers"][0] == {"question": "跑单途中最大的困难是什么？", "answer": "充电"}

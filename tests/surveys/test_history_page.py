"""A survey's page shows its history in words: who did what, newest first; ids and times
the services keep for themselves stay out of it, old rows included."""

from __future__ import annotations

import importlib
import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from nuanxin.surveys import services
from nuanxin.surveys.models import SurveyEvent
from tests.factories.people import login
from tests.surveys.helpers import simple_survey, survey_input
from tests.surveys.test_builder import single

pytestmark = pytest.mark.django_db


def history(client, survey) -> list[str]:
    html = client.get(f"/console/surveys/{survey.pk}/").content.decode()
    block = html[html.index("data-timeline"):]
    rows = re.findall(r"<li[^>]*>(.*?)</li>", block[:block.index("</ol>")], re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]


def test_the_history_names_each_act_and_who_did_it_without_ids(client, staff):
    survey, _q = simple_survey(staff, publish=False)
    question = services.question_add(actor=staff, survey_id=survey.pk, data=single())
    services.survey_update(actor=staff, survey_id=survey.pk, data=survey_input(
        closes_at=timezone.now() + timedelta(days=20)))
    copy = services.survey_copy(actor=staff, survey_id=survey.pk)
    services.survey_publish(actor=staff, survey_id=survey.pk)
    survey.refresh_from_db()
    services.survey_update(actor=staff, survey_id=survey.pk, data=survey_input(
        opens_at=survey.opens_at, closes_at=timezone.now() + timedelta(days=25)))
    login(client, staff)
    rows = history(client, survey)
    # Newest first; each row is "when · who what", and nothing after what was done.
    assert [row.split(f"{staff} ", 1)[1] for row in rows] == [
        "修改截止时间", "发布 草稿 → 已发布", "修改设置", "添加题目", "添加题目", "创建问卷"]
    assert history(client, copy)[0].endswith(f"{staff} 创建问卷")
    assert SurveyEvent.objects.get(survey=copy).data == {"copy_of": survey.pk}
    assert (SurveyEvent.objects.filter(survey=survey, action="surveys.question.added")
            .order_by("-id").values_list("data", flat=True).first() == {"question": question.pk})


def test_old_rows_move_their_ids_from_reason_to_data(staff):
    survey, _q = simple_survey(staff, publish=False)
    at = timezone.now()
    old = {
        "surveys.question.added": "17",
        "surveys.survey.closing_changed": "2026-12-31T15:59:00+00:00",
        "surveys.survey.need_raised": "option 5 → need 9",
        "surveys.survey.created": "copy of 3",
        "surveys.survey.closed": "活动提前结束",  # a person's note stays
    }
    for action, reason in old.items():
        SurveyEvent.objects.create(survey=survey, actor=staff, action=action, reason=reason,
                                   at=at)
    migration = importlib.import_module("nuanxin.surveys.migrations.0004_event_ids_into_data")
    migration.forwards(apps, None)
    rows = {e.action: (e.reason, e.data) for e in SurveyEvent.objects.filter(
        survey=survey, at=at)}
    assert rows == {
        "surveys.question.added": ("", {"question": 17}),
        "surveys.survey.closing_changed": ("", {"closes_at": "2026-12-31T15:59:00+00:00"}),
        "surveys.survey.need_raised": ("", {"option": 5, "need": 9}),
        "surveys.survey.created": ("", {"copy_of": 3}),
        "surveys.survey.closed": ("活动提前结束", {}),
    }

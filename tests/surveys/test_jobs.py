"""Queued work: announcing a published survey to its target group."""

from datetime import timedelta

import pytest

from nuanxin.accounts.models import Notification
from nuanxin.surveys import services
from nuanxin.surveys.jobs import announce_survey
from nuanxin.surveys.selectors import survey_token
from tests.factories.people import StaffFactory, WorkerFactory
from tests.factories.places import CHUITAI, OUHAI, YIJIASHAN, YIWU
from tests.surveys.helpers import simple_survey

pytestmark = pytest.mark.django_db


def test_publishing_tells_the_target_group_once(django_capture_on_commit_callbacks):
    staff = StaffFactory()
    here = [WorkerFactory(occupation="courier"), WorkerFactory(occupation="courier")]
    other_job = WorkerFactory(occupation="food_delivery")
    elsewhere = WorkerFactory(home_region_code=CHUITAI, occupation="courier")
    with django_capture_on_commit_callbacks(execute=True):
        survey, _q = simple_survey(staff, occupations=["courier"])
    told = Notification.objects.filter(dedupe_key=f"survey-{survey.pk}-open")
    assert set(told.values_list("user_id", flat=True)) == {w.pk for w in here}
    assert told.first().link == f"/surveys/a/{survey_token(survey.pk)}/"
    assert not Notification.objects.filter(user__in=[other_job, elsewhere]).exists()
    assert announce_survey.call_local(survey.pk) == 2  # a retry adds nothing
    assert told.count() == 2
    # reopening a closed survey does not announce it again
    services.survey_close(actor=staff, survey_id=survey.pk)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.survey_reopen(actor=staff, survey_id=survey.pk,
                               closes_at=survey.closes_at + timedelta(days=1))
    assert callbacks == []


def test_figures_count_records_in_the_region():
    from nuanxin.common.stats import stat
    from nuanxin.surveys.services import AnswerInput, VisitInput
    from tests.surveys.helpers import opt

    staff = StaffFactory()
    survey, q = simple_survey(staff)
    for _i in range(3):
        services.response_submit(worker=WorkerFactory(), survey_id=survey.pk,
                                 answers={q.pk: AnswerInput(options=[opt(q, 1)])})
    services.visit_record(actor=staff, data=VisitInput(
        visited_at=survey.opens_at, household_name="王家", region_code=YIJIASHAN))
    assert stat("surveys.responses").compute(YIWU, None, None) == 3
    assert stat("surveys.responses").compute(OUHAI, None, None) == 0
    assert stat("surveys.home_visits").compute("", None, None) == 1
    assert stat("surveys.home_visits").records(YIJIASHAN, None, None).count() == 1

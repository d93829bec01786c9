"""The inbox does not keep calling a survey 新问卷 once the worker has answered it."""

from __future__ import annotations

import pytest

from nuanxin.accounts.models import Notification
from nuanxin.surveys import services
from nuanxin.surveys.jobs import announce_survey
from nuanxin.surveys.services import AnswerInput
from tests.factories.people import StaffFactory, WorkerFactory
from tests.surveys.helpers import opt, simple_survey

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("anonymous", [False, True])
def test_an_answered_survey_says_answered_in_the_inbox(client, anonymous,
                                                       django_capture_on_commit_callbacks):
    worker = WorkerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        survey, q = simple_survey(StaffFactory(), anonymous=anonymous, title="充电情况调查")
    client.force_login(worker)
    before = client.get("/accounts/inbox/").content.decode()
    assert "新问卷：充电情况调查" in before

    message = Notification.objects.get(user=worker)
    Notification.objects.filter(pk=message.pk).update(read_at=None)
    services.response_submit(worker=worker, survey_id=survey.pk,
                             answers={q.pk: AnswerInput(options=[opt(q, 1)])})
    after = client.get("/accounts/inbox/").content.decode()
    assert "新问卷" not in after and "已答问卷：充电情况调查" in after
    assert '<span class="chip">新</span>' not in after
    message.refresh_from_db()
    # Marked read as of when it was sent: the row says nothing about when they answered.
    assert message.read_at == message.created_at


def test_whoever_answered_before_the_announcement_is_not_asked(
        django_capture_on_commit_callbacks):
    staff = StaffFactory()
    early, late = WorkerFactory(), WorkerFactory()
    survey, q = simple_survey(staff)
    services.response_submit(worker=early, survey_id=survey.pk,
                             answers={q.pk: AnswerInput(options=[opt(q, 1)])})
    Notification.objects.all().delete()
    assert announce_survey.call_local(survey.pk) == 1
    assert list(Notification.objects.values_list("user_id", flat=True)) == [late.pk]

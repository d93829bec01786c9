"""The nightly escalation of overdue needs (community → street → district ...)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from nuanxin.accounts.models import Notification
from nuanxin.needs import services
from nuanxin.needs.jobs import escalate_overdue_needs
from nuanxin.needs.models import NeedEvent
from tests.factories.needs import NeedFactory
from tests.factories.people import StaffFactory, WorkerFactory
from tests.factories.places import CHOUCHENG, YIJIASHAN, YIWU, org_unit_for

pytestmark = pytest.mark.django_db


def overdue_need(days_late: int = 1, **kwargs):
    """An accepted charging need whose 60-day target passed `days_late` days ago."""
    accepted = timezone.now() - timedelta(days=60 + days_late)
    return NeedFactory(status="accepted", created_at=accepted, accepted_at=accepted,
                       **kwargs)


def test_the_job_is_registered_with_the_queue():
    assert "nuanxin.needs.jobs.escalate_overdue_needs" in set(HUEY._registry._registry)


def test_overdue_need_moves_to_the_street_and_its_staff_are_told_once():
    street_admin = StaffFactory(role="street_admin", region_code=CHOUCHENG)
    community = StaffFactory()
    need = overdue_need(raisers=[WorkerFactory()])
    today = timezone.localdate()

    assert services.needs_escalate_overdue(today=today) == 1
    need.refresh_from_db()
    assert need.owner == org_unit_for(CHOUCHENG) and need.escalation_level == 1
    event = NeedEvent.objects.get(need=need, action="needs.need.escalated")
    assert event.data["to_unit"] == org_unit_for(CHOUCHENG).name
    notes = Notification.objects.filter(user=street_admin)
    assert [n.link for n in notes] == [f"/console/needs/{need.pk}/"]
    assert not Notification.objects.filter(user=community).exists()

    # a second run the same day does nothing
    assert services.needs_escalate_overdue(today=today) == 0
    assert Notification.objects.filter(user=street_admin).count() == 1
    assert NeedEvent.objects.filter(need=need, action="needs.need.escalated").count() == 1
    need.refresh_from_db()
    assert need.owner == org_unit_for(CHOUCHENG)


def test_still_overdue_a_full_period_later_it_moves_up_again():
    need = overdue_need()
    today = timezone.localdate()
    services.needs_escalate_overdue(today=today)
    assert services.needs_escalate_overdue(today=today + timedelta(days=59)) == 0
    # the escalation row is dated today; 60 days on, still open, it goes to the district
    assert services.needs_escalate_overdue(today=today + timedelta(days=60)) == 1
    need.refresh_from_db()
    assert need.owner == org_unit_for(YIWU) and need.escalation_level == 2


def test_an_unanswered_submitted_need_is_overdue_after_the_response_days():
    need = NeedFactory(created_at=timezone.now() - timedelta(days=services.RESPONSE_DAYS + 1))
    assert services.needs_escalate_overdue() == 1
    need.refresh_from_db()
    assert need.owner == org_unit_for(CHOUCHENG)


@pytest.mark.parametrize("status", ["resolved", "declined", "not_feasible"])
def test_closed_and_on_time_needs_stay(status):
    late = timezone.now() - timedelta(days=200)
    closed = NeedFactory(status=status, created_at=late, accepted_at=late)
    on_time = NeedFactory(status="accepted")
    assert services.needs_escalate_overdue() == 0
    for need in (closed, on_time):
        need.refresh_from_db()
        assert need.owner == org_unit_for(YIJIASHAN)


def test_the_nightly_task_runs_the_service():
    StaffFactory(role="street_admin", region_code=CHOUCHENG)
    need = overdue_need()
    assert escalate_overdue_needs.call_local() == 1
    assert escalate_overdue_needs.call_local() == 0
    need.refresh_from_db()
    assert need.escalation_level == 1

from datetime import timedelta

import pytest
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from nuanxin.accounts import throttle
from nuanxin.accounts.jobs import purge_expired_counters, purge_old_sms_codes
from nuanxin.accounts.models import SecurityCounter, SmsCode


def test_background_jobs_are_registered_with_the_queue():
    # The worker process (`nuanxin run_huey`) only runs jobs it has registered at start-up.
    names = set(HUEY._registry._registry)
    assert "nuanxin.accounts.jobs.deliver_sms" in names
    assert "nuanxin.accounts.jobs.purge_old_sms_codes" in names
    assert "nuanxin.accounts.jobs.purge_expired_counters" in names


@pytest.mark.django_db
def test_old_login_codes_are_purged_and_recent_ones_kept():
    now = timezone.now()
    for age in (timedelta(minutes=3), timedelta(days=3)):
        SmsCode.objects.create(phone="13800138000", code_hash="x", created_at=now - age,
                               expires_at=now - age + timedelta(minutes=5))
    purge_old_sms_codes.call_local()
    assert list(SmsCode.objects.values_list("created_at", flat=True)) == [
        now - timedelta(minutes=3)
    ]


@pytest.mark.django_db
def test_lockout_counters_past_their_window_are_purged_and_live_ones_kept():
    throttle.failure_add("staff_login", "old", limit=10, window=timedelta(minutes=15))
    throttle.failure_add("staff_login", "live", limit=10, window=timedelta(minutes=15))
    SecurityCounter.objects.filter(key__contains=throttle._key("x", "old").split(":")[1]) \
        .update(expires_at=timezone.now() - timedelta(seconds=1))
    assert purge_expired_counters.call_local() == 1
    assert throttle.failure_count("staff_login", "live") == 1
    assert throttle.failure_count("staff_login", "old") == 0

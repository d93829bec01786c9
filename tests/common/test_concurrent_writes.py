"""Concurrent writers queue instead of failing with "database is locked" (issue 8, item 5).

SQLite allows one writer at a time; a transaction that reads and then writes (as every
lock-then-check service does) must take the write lock at BEGIN and wait its turn, or a
second writer is refused at once.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections

from nuanxin.accounts import throttle

pytestmark = pytest.mark.django_db(transaction=True)


def test_twelve_threads_counting_one_failure_each_all_count():
    start = threading.Barrier(12)
    errors = []

    def count_one():
        start.wait()
        try:
            for _ in range(3):
                throttle.failure_add("staff_login", "shared", limit=1000,
                                     window=timedelta(minutes=15))
        except Exception as exc:  # noqa: BLE001 - the test reports whatever a writer hit
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=count_one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert throttle.failure_count("staff_login", "shared") == 36

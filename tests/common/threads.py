"""Running code on other connections, as concurrent requests would (PostgreSQL only)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection


def needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("a race needs concurrent writers: SQLite runs one write transaction at a "
                    "time (BEGIN IMMEDIATE); run with DATABASE_URL=postgres://...")


def in_thread(fn: Callable):
    """`fn()` on its own connection, committed (outside the test's transaction)."""
    return all_at_once([fn])[0]


def committed(fn: Callable):
    """`fn()` on its own connection, committed; what it raises is raised here (set-up and
    checks that must see, or be seen by, other connections)."""
    result = in_thread(fn)
    if isinstance(result, Exception):
        raise result
    return result


def all_at_once(fns: list[Callable]) -> list:
    """Start every `fn` together on its own connection; each one's result or exception."""
    start = threading.Barrier(len(fns))
    results: list = [None] * len(fns)

    def run(i, fn):
        try:
            start.wait(10)
            results[i] = fn()
        except Exception as exc:  # handed back to the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results

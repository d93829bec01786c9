"""Races, against PostgreSQL (SQLite serialises writers, so there is nothing to race)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from nuanxin.common.errors import ServiceError
from nuanxin.needs import services
from nuanxin.needs.models import Need, NeedRaiser
from tests.factories.needs import NeedFactory
from tests.factories.people import StaffFactory, WorkerFactory
from tests.factories.places import CHUITAI, QIANJIANGYUAN, YIJIASHAN, ensure_units

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="races need PostgreSQL"),
]


@pytest.fixture(autouse=True)
def units(regions):
    ensure_units(YIJIASHAN, CHUITAI, QIANJIANGYUAN)


def run_together(*calls):
    """Run the calls at the same moment in threads; return each one's result or error."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as error:  # noqa: BLE001 - the test looks at it
            results[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_simultaneous_me_too_counts_everyone():
    need = NeedFactory(raisers=[WorkerFactory()])
    others = [WorkerFactory() for _ in range(6)]
    results = run_together(*[
        (lambda w=w: services.need_raise_again(worker=w, need_id=need.pk)) for w in others])
    assert not [r for r in results if isinstance(r, Exception)]
    need.refresh_from_db()
    assert need.raised_count == 7 == NeedRaiser.objects.filter(need=need).count()


def test_two_secretaries_accepting_at_once_accept_once():
    need = NeedFactory()
    a, b = StaffFactory(), StaffFactory()
    results = run_together(lambda: services.need_accept(actor=a, need_id=need.pk),
                           lambda: services.need_accept(actor=b, need_id=need.pk))
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(refused) == 1 and refused[0].code == "invalid_transition"
    assert need.events.filter(action="needs.need.accepted").count() == 1


def test_me_too_during_a_merge_lands_on_the_target_and_is_counted():
    target = NeedFactory(raisers=[WorkerFactory()])
    source = NeedFactory(raisers=[WorkerFactory()])
    late = WorkerFactory()
    results = run_together(
        lambda: services.need_merge(actor=StaffFactory(), target_id=target.pk,
                                    source_ids=[source.pk]),
        lambda: services.need_raise_again(worker=late, need_id=source.pk))
    assert not [r for r in results if isinstance(r, Exception)], results
    target.refresh_from_db()
    assert Need.objects.get(pk=source.pk).status == "merged"
    assert NeedRaiser.objects.filter(need=target, worker=late).exists()
    assert target.raised_count == NeedRaiser.objects.filter(need=target).count() == 3

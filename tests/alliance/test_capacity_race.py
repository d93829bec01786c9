"""Capacity under concurrency: many projects asking for the same resource's last places at
the same moment never overbook it (the resource row lock of RESOURCE_SEATS, common.seats)."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from nuanxin.accounts.models import OrgUnit, Partner, PartnerKind, User
from nuanxin.alliance.models import Project, ProjectEvent, ProjectResource, Resource
from nuanxin.alliance.services import projects as project_services
from nuanxin.alliance.services.resources import RESOURCE_SEATS
from nuanxin.common.errors import ServiceError
from tests.common.threads import committed
from tests.factories.people import PartnerFactory, SuperuserFactory
from tests.factories.places import YIJIASHAN, YIWU, OrgUnitFactory

pytestmark = pytest.mark.django_db

THREADS = 6
CAPACITY = 12
EACH = 5  # two requests fit, the third would overbook




def test_simultaneous_allocations_never_overbook(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers: SQLite runs one write transaction at a time "
                    "(BEGIN IMMEDIATE), so there is no race to provoke; run on PostgreSQL")

    def setup():
        root = SuperuserFactory()
        unit = OrgUnitFactory(region_code=YIJIASHAN, name="并发测试单位")
        tower = PartnerFactory(name="并发测试铁塔", kind=PartnerKind.OPERATOR, region_code=YIWU)
        cabinet = Resource.objects.create(
            partner=tower, title="电池槽", category="charging", region_id=YIJIASHAN,
            capacity=CAPACITY, capacity_unit="个电池槽",
            available_from=timezone.localdate() - timedelta(days=1))
        projects = [Project.objects.create(title=f"并发项目{i}", owner=unit,
                                           created_at=timezone.now()).pk
                    for i in range(THREADS)]
        return root.pk, unit.pk, tower.pk, cabinet.pk, projects

    root_id, unit_id, tower_id, cabinet_id, project_ids = committed(setup)

    # Hold every request between counting and writing until all have counted (or until the
    # lock makes that impossible): without the row lock all six would count 0 and book.
    counted = threading.Barrier(THREADS)
    real_count = RESOURCE_SEATS.held

    def count_then_wait(*args, **kwargs):
        value = real_count(*args, **kwargs)
        # BrokenBarrierError: the others are queued on the lock, as they should be
        with contextlib.suppress(threading.BrokenBarrierError):
            counted.wait(2)
        return value

    monkeypatch.setattr(RESOURCE_SEATS, "held", count_then_wait)
    try:
        barrier = threading.Barrier(THREADS)
        outcomes: list = []

        def allocate(project_id):
            try:
                actor = User.objects.get(pk=root_id)
                barrier.wait(10)
                project_services.project_allocate(actor=actor, project_id=project_id,
                                                  resource_id=cabinet_id, quantity=EACH)
                outcomes.append("ok")
            except ServiceError as exc:
                outcomes.append(exc.code)
            except Exception as exc:
                outcomes.append(repr(exc))
            finally:
                connection.close()

        threads = [threading.Thread(target=allocate, args=(pid,)) for pid in project_ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(outcomes) == ["capacity_exceeded"] * (THREADS - 2) + ["ok"] * 2, outcomes
        taken = committed(lambda: sum(ProjectResource.objects.filter(
            resource_id=cabinet_id).values_list("quantity", flat=True)))
        assert taken == 2 * EACH <= CAPACITY
    finally:
        def cleanup():
            ProjectResource.objects.filter(resource_id=cabinet_id).delete()
            ProjectEvent.objects.filter(project_id__in=project_ids).delete()
            Project.objects.filter(pk__in=project_ids).delete()
            Resource.objects.filter(pk=cabinet_id).delete()
            Partner.objects.filter(pk=tower_id).delete()
            OrgUnit.objects.filter(pk=unit_id).delete()
            User.objects.filter(pk=root_id).delete()

        committed(cleanup)

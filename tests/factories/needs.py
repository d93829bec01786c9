"""Needs: rows straight in the database (NeedFactory), or raised through the services as a
worker would (raise_need).

NeedFactory writes any status a test needs, fast; each need is owned by the organisation
unit of its region (`places.org_unit_for`) and, with `raisers=[...]`, gets raiser and
follower rows. For the workflow itself go through `nuanxin.needs.services` (need_raise,
need_accept ...), as the pages and API do; raise_need is that path's shortcut.

    NeedFactory()                                          # submitted, 义驾山, charging
    NeedFactory(region_code=CHUITAI, category="childcare")
    NeedFactory(status="accepted", raisers=[worker1, worker2])
    NeedFactory(status="resolved")                         # resolved_at and accepted_at set
    raise_need()                                           # by a new worker of 义驾山社区
    raise_need(rider, title="充电慢", accept=True)         # accepted by a superuser
    raise_need(region_code=CHUITAI, point=CHUITAI_POINT, description="…")
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from nuanxin.accounts.models import User
from nuanxin.needs import services as need_services
from nuanxin.needs.models import (
    Need,
    NeedCategory,
    NeedFollower,
    NeedRaiser,
    NeedSource,
    NeedStatus,
    Urgency,
)
from nuanxin.needs.services import RESPONSE_DAYS, TARGET_DAYS, NeedInput
from tests.factories.people import SuperuserFactory, WorkerFactory
from tests.factories.places import YIJIASHAN, org_unit_for, region


class NeedFactory(DjangoModelFactory):
    class Meta:
        model = Need
        skip_postgeneration_save = True

    class Params:
        region_code = YIJIASHAN

    title = factory.Sequence(lambda n: f"义驾山小区门口缺少充电设施 {n}")
    description = "晚上回来电动车没地方充电，只能拉电线上楼。"
    category = NeedCategory.CHARGING
    source = NeedSource.ONLINE
    region = factory.LazyAttribute(lambda o: region(o.region_code))
    owner = factory.LazyAttribute(lambda o: org_unit_for(o.region_code))
    urgency = Urgency.LOW
    status = NeedStatus.SUBMITTED
    created_at = factory.LazyFunction(timezone.now)
    accepted_at = factory.LazyAttribute(
        lambda o: None if o.status in (NeedStatus.SUBMITTED, NeedStatus.DECLINED)
        else o.created_at)
    resolved_at = factory.LazyAttribute(
        lambda o: o.created_at + timedelta(days=3) if o.status == NeedStatus.RESOLVED else None)
    target_date = factory.LazyAttribute(
        lambda o: timezone.localdate(o.accepted_at or o.created_at) + timedelta(
            days=TARGET_DAYS[NeedCategory(o.category)] if o.accepted_at else RESPONSE_DAYS))
    merged_into = None
    raised_count = 0

    @factory.post_generation
    def raisers(obj, create, extracted, **kwargs):  # noqa: N805
        if not create or not extracted:
            return
        for worker in extracted:
            NeedRaiser.objects.create(need=obj, worker=worker, source=obj.source,
                                      raised_at=obj.created_at)
            NeedFollower.objects.get_or_create(need=obj, user=worker)
        Need.objects.filter(pk=obj.pk).update(raised_count=len(extracted))
        obj.raised_count = len(extracted)


_numbers = itertools.count(1)


def raise_need(by: User | None = None, *, region_code: str = YIJIASHAN, title: str | None = None,
               category: str = "charging", source: str = "online", accept: bool = False,
               point: tuple[float, float] | None = None,
               description: str = "跑单途中充电桩太少，经常排队。", **fields) -> Need:
    """A need raised through need_raise by `by` (a new worker living there unless given);
    `accept=True` has a superuser accept it too. `fields`: NeedInput's others (urgency)."""
    raiser = by or WorkerFactory(home_region_code=region_code)
    if point is not None:
        fields.update(lat=point[0], lng=point[1])
    need = need_services.need_raise(actor=raiser, data=NeedInput(
        title=title or f"充电难 {next(_numbers)}", category=category, source=source,
        region_code=region_code, description=description, **fields))
    if accept:
        need = need_services.need_accept(actor=SuperuserFactory(), need_id=need.pk)
    return need

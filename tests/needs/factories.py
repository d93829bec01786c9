"""factory_boy factories for the needs list; other apps' tests may reuse them.

Needs are written straight to the database (any status a test needs, fast); each gets the
organisation unit of its region (made on the fly, as the demo's ensure_org_units would)
and, with `raisers=[...]`, raiser and follower rows. For the workflow itself go through
`nuanxin.needs.services` (need_raise, need_accept ...), as the pages and API do.

    NeedFactory()                                          # submitted, 义驾山, charging
    NeedFactory(region_code=CHUITAI, category="childcare")
    NeedFactory(status="accepted", raisers=[worker1, worker2])
    NeedFactory(status="resolved")                         # resolved_at and accepted_at set
    org_unit_for(YIJIASHAN)                                # the unit that owns needs there
    ensure_units()                                         # units for the article's chain
"""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from nuanxin.accounts.models import OrgUnit
from nuanxin.geo.models import Region
from nuanxin.needs.models import (
    Need,
    NeedCategory,
    NeedFollower,
    NeedRaiser,
    NeedSource,
    NeedStatus,
    Urgency,
)
from nuanxin.needs.services import RESPONSE_DAYS, TARGET_DAYS

YIJIASHAN = "330782001001"  # 义乌市稠城街道义驾山社区
CHOUCHENG = "330782001"  # 义乌市稠城街道
YIWU = "330782"  # 义乌市
JINHUA = "330700"
ZHEJIANG = "330000"
CHUITAI = "330304001001"  # 温州市瓯海区娄桥街道吹台社区
QIANJIANGYUAN = "330102001001"  # 杭州市上城区四季青街道钱江苑社区
HAIJINGYUAN = "330212001001"  # 宁波市鄞州区潘火街道海璟园社区
YANGHONG = "331004001001"  # 台州市路桥区路桥街道洋洪社区

YIJIASHAN_POINT = (29.3155, 120.0782)
CHUITAI_POINT = (27.9597, 120.6195)


def org_unit_for(region_code: str) -> OrgUnit:
    place = Region.objects.get(code=region_code)
    unit = OrgUnit.objects.filter(region=place).order_by("pk").first()
    if unit is None:
        unit = OrgUnit.objects.create(region=place, name=f"{place.name}党群服务中心")
    return unit


def ensure_units(*codes: str) -> None:
    """Units for a region and every level above it (the escalation chain)."""
    for code in codes or (YIJIASHAN, CHUITAI, QIANJIANGYUAN):
        node = Region.objects.get(code=code)
        while node is not None:
            org_unit_for(node.code)
            node = node.parent


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
    region = factory.LazyAttribute(lambda o: Region.objects.get(code=o.region_code))
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

"""Builders for the alliance tests: places, people, partners, resources and needs.

Needs are raised and accepted through nuanxin.needs.services, as the pages do; partners'
resources through the alliance's services. People come from tests.accounts.factories.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from django.utils import timezone

from nuanxin.accounts.models import (
    OrgUnit,
    Partner,
    PartnerKind,
    PartnerMember,
    User,
    UserKind,
)
from nuanxin.alliance.services import resources as resource_services
from nuanxin.alliance.services.resources import ResourceInput
from nuanxin.geo.models import Region, RegionLevel
from nuanxin.needs import services as need_services
from nuanxin.needs.services import NeedInput
from tests.accounts.factories import StaffFactory, WorkerFactory

YIJIASHAN = "330782001001"  # 义乌市稠城街道义驾山社区
CHOUCHENG = "330782001"  # 义乌市稠城街道
YIWU = "330782"  # 义乌市
JINHUA = "330700"
ZHEJIANG = "330000"
CHUITAI = "330304001001"  # 温州市瓯海区娄桥街道吹台社区
LOUQIAO = "330304001"  # 温州市瓯海区娄桥街道
OUHAI = "330304"
OTHER_CHOUCHENG = "330782001098"  # a test-only community in 稠城街道

YIJIASHAN_POINT = (29.3152, 120.0786)
CHUITAI_POINT = (27.9593, 120.6199)

_seq = itertools.count(1)


def other_choucheng() -> Region:
    region, _ = Region.objects.get_or_create(
        code=OTHER_CHOUCHENG,
        defaults={"name": "测试二社区", "level": RegionLevel.COMMUNITY, "parent_id": CHOUCHENG,
                  "center_lat": 29.3060, "center_lng": 120.0750, "is_demo": True})
    return region


def unit_for(code: str) -> OrgUnit:
    place = Region.objects.get(code=code)
    unit = OrgUnit.objects.filter(region=place).order_by("pk").first()
    return unit or OrgUnit.objects.create(region=place, name=f"{place.name}党群服务中心")


def ensure_units(*codes: str) -> None:
    for code in codes:
        node = Region.objects.get(code=code)
        while node is not None:
            unit_for(node.code)
            node = node.parent


def staff(role: str = "community_staff", code: str = YIJIASHAN) -> User:
    return StaffFactory(role=role, region_code=code)


def superuser() -> User:
    return User.objects.create_superuser(username=f"root{next(_seq)}",
                                         password="a-long-test-password")


def worker(home: str | None = YIJIASHAN, **kwargs) -> User:
    return WorkerFactory(home_region_code=home, **kwargs)


def partner(name: str | None = None, *, kind: str = PartnerKind.COMPANY,
            code: str = YIWU) -> Partner:
    return Partner.objects.create(name=name or f"测试单位{next(_seq)}", kind=kind,
                                  region=Region.objects.get(code=code))


def partner_user(of: Partner, username: str | None = None) -> User:
    user = User.objects.create_user(username=username or f"partner{next(_seq)}",
                                    password="partner-long-password", kind=UserKind.PARTNER,
                                    display_name=of.name[:40])
    PartnerMember.objects.create(user=user, partner=of)
    return user


def resource_input(**overrides) -> ResourceInput:
    values = {
        "title": "换电柜电池槽", "category": "charging", "region_code": YIJIASHAN,
        "capacity": 12, "capacity_unit": "个电池槽",
        "available_from": timezone.localdate() - timedelta(days=30),
    }
    values.update(overrides)
    return ResourceInput(**values)


def resource(of: Partner, *, actor: User | None = None, **overrides):
    return resource_services.resource_create(actor=actor or superuser(), partner_id=of.pk,
                                             data=resource_input(**overrides))


def raise_need(*, by: User | None = None, code: str = YIJIASHAN, category: str = "charging",
               title: str | None = None, accept: bool = True, point=None,
               description: str = "跑单途中充电桩太少，经常排队。"):
    """A need raised by a worker (a new one unless given) and accepted by a superuser."""
    raiser = by or worker(home=code)
    data = NeedInput(title=title or f"充电难 {next(_seq)}", category=category,
                     source="online", region_code=code, description=description,
                     lat=point[0] if point else None, lng=point[1] if point else None)
    need = need_services.need_raise(actor=raiser, data=data)
    if accept:
        need = need_services.need_accept(actor=superuser(), need_id=need.pk)
    return need


def today() -> date:
    return timezone.localdate()

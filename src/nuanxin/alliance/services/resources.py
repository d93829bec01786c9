"""The resource list (资源清单): what partners offer, and taking its capacity.

Capacity is scarce (a class's last seat, a cabinet's slots), so every change that takes it
or lowers it goes through RESOURCE_SEATS (common.seats): the resource row locked late, once
per transaction, then what open projects hold counted and checked. Two projects asking for
the last places at the same moment queue on that row lock; the second one counts the first
one's allocation and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import Partner, User
from nuanxin.alliance.models import OPEN_PROJECT_STATUSES, ProjectResource, Resource
from nuanxin.alliance.selectors import (
    can_manage_partner,
    member_partner,
    partner_for,
)
from nuanxin.alliance.services.common import clean_text
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError, lazy_format
from nuanxin.common.scoping import access_of, covers
from nuanxin.common.seats import Seats
from nuanxin.geo.models import Region
from nuanxin.needs.choices import NeedCategory

MAX_CAPACITY = 1_000_000


@dataclass
class ResourceInput:
    title: str
    category: str
    region_code: str
    capacity: int
    available_from: date
    capacity_unit: str = "个名额"
    description: str = ""
    address: str = ""
    lat: float | None = None
    lng: float | None = None
    conditions: str = ""
    available_until: date | None = None
    is_active: bool = True


# Only allocations of open projects use capacity: closing a project gives its places back.
RESOURCE_SEATS = Seats(
    pool_model=Resource, holding_model=ProjectResource,
    counts=Q(project__status__in=OPEN_PROJECT_STATUSES),
    full=lambda resource, n: lazy_format(_("“%(title)s”只剩 %(n)d %(unit)s。"),
                                         title=resource.title, n=n,
                                         unit=resource.capacity_unit),
    not_found=_("找不到这项资源。"), not_found_code="resource_not_found",
)


def _partner_for_actor(actor: User, partner_id: int) -> Partner:
    own = member_partner(actor)
    if own is not None:
        if own.pk != partner_id:
            raise NotFound("partner_not_found", _("找不到这个联盟单位。"))
        return own
    partner = partner_for(actor, partner_id)
    if not can_manage_partner(actor, partner):
        raise PermissionDenied("partner_not_manageable",
                               _("您不能管理这个单位的资源：它不在您的辖区，也没有与您的阵地签订共建协议。"))
    return partner


def _validate(actor: User, partner: Partner, data: ResourceInput) -> dict:
    title = clean_text(data.title, limit=80, code="title_too_long", label=_("名称"))
    if not title:
        raise ServiceError("title_required", _("请填写资源名称。"))
    if data.category not in NeedCategory.values:
        raise ServiceError("invalid_category", _("未知的类别。"))
    if not isinstance(data.capacity, int) or isinstance(data.capacity, bool) \
            or not 1 <= data.capacity <= MAX_CAPACITY:
        raise ServiceError("invalid_capacity", _("容量必须是 1 到 1000000 之间的整数。"))
    unit = clean_text(data.capacity_unit, limit=20, code="unit_too_long", label=_("单位"))
    if not unit:
        raise ServiceError("unit_required", _("请填写容量的单位，例如“个名额”。"))
    if not isinstance(data.available_from, date):
        raise ServiceError("available_from_required", _("请填写开始提供的日期。"))
    if data.available_until is not None and data.available_until < data.available_from:
        raise ServiceError("available_range", _("结束日期不能早于开始日期。"))
    if (data.lat is None) != (data.lng is None) or (
        data.lat is not None and not (-90 <= data.lat <= 90 and -180 <= data.lng <= 180)
    ):
        raise ServiceError("invalid_coordinates", _("坐标不正确：请同时填写纬度和经度。"))
    code = (data.region_code or "").strip()
    region = Region.objects.filter(code=code).first() if code else None
    # The resource lies where the partner works; staff place it inside their own region.
    prefix = access_of(actor).prefix
    if region is None or not covers(partner.region.prefix, region.code) or (
        prefix is not None and not covers(prefix, region.code)
    ):
        raise ServiceError("region_outside_partner",
                           _("资源所在区划必须在该单位的服务区域内（工作人员还须在自己的辖区内）。"))
    return {
        "title": title, "category": data.category, "region": region,
        "description": clean_text(data.description, limit=2000, code="description_too_long",
                                  label=_("说明")),
        "address": clean_text(data.address, limit=200, code="address_too_long",
                              label=_("地址")),
        "lat": data.lat, "lng": data.lng, "capacity": data.capacity, "capacity_unit": unit,
        "conditions": clean_text(data.conditions, limit=1000, code="conditions_too_long",
                                 label=_("条件")),
        "available_from": data.available_from, "available_until": data.available_until,
        "is_active": bool(data.is_active),
    }


@transaction.atomic
def resource_create(*, actor: User, partner_id: int, data: ResourceInput) -> Resource:
    """A partner's user adds their own offer; staff add one for a partner they manage."""
    partner = _partner_for_actor(actor, partner_id)
    values = _validate(actor, partner, data)
    return Resource.objects.create(partner=partner, created_by=actor, **values)


def _editable_resource(actor: User, resource_id: int) -> Resource:
    resource = Resource.objects.select_related("partner__region").filter(pk=resource_id).first()
    if resource is None:
        raise NotFound("resource_not_found", _("找不到这项资源。"))
    own = member_partner(actor)
    if own is not None:
        if own.pk != resource.partner_id:
            raise NotFound("resource_not_found", _("找不到这项资源。"))
        return resource
    _partner_for_actor(actor, resource.partner_id)
    return resource


@transaction.atomic
def resource_update(*, actor: User, resource_id: int, data: ResourceInput) -> Resource:
    """Change an offer. Its capacity cannot drop below what open projects hold."""
    resource = _editable_resource(actor, resource_id)
    values = _validate(actor, resource.partner, data)
    resource = RESOURCE_SEATS.lock(resource.pk)
    taken = RESOURCE_SEATS.held(resource)
    if values["capacity"] < taken:
        raise ServiceError(
            "capacity_below_allocated",
            lazy_format(_("进行中的项目已占用 %(n)d，容量不能少于这个数。"), n=taken),
            details={"allocated": taken}, status=409,
        )
    for name, value in values.items():
        setattr(resource, name, value)
    resource.save()
    return resource


@transaction.atomic
def resource_set_active(*, actor: User, resource_id: int, active: bool) -> Resource:
    """Stop offering (or offer again). Capacity open projects hold stays theirs."""
    resource = _editable_resource(actor, resource_id)
    resource.is_active = bool(active)
    resource.save(update_fields=["is_active", "updated_at"])
    return resource

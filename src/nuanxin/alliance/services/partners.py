"""Partners of the alliance, their co-building agreements and their logins.

Partner rows live in accounts (accounts.Partner, accounts.PartnerMember) because people
belong to accounts; the alliance is where staff create and change them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts import throttle
from nuanxin.accounts.models import (
    OrgUnit,
    Partner,
    PartnerKind,
    PartnerMember,
    User,
    UserKind,
)
from nuanxin.accounts.selectors import staff_profile_of
from nuanxin.alliance.models import Agreement
from nuanxin.alliance.selectors import can_edit_partner, can_manage_partner, partner_for
from nuanxin.alliance.services.common import clean_text, region_in, require_manager
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.common.scoping import region_q

LOGIN_LOCK_AFTER = 10
LOGIN_LOCK_FOR = timedelta(minutes=15)


@dataclass
class PartnerInput:
    name: str
    kind: str
    region_code: str


def _validate_partner(data: PartnerInput, prefix: str):
    name = clean_text(data.name, limit=80, code="name_too_long", label=_("名称"))
    if not name:
        raise ServiceError("name_required", _("请填写单位名称。"))
    if data.kind not in PartnerKind.values:
        raise ServiceError("invalid_kind", _("未知的单位类型。"))
    return name, region_in(data.region_code, prefix)


@transaction.atomic
def partner_create(*, actor: User, data: PartnerInput) -> Partner:
    """A new member of the alliance, working in a region inside the actor's scope."""
    prefix = require_manager(actor)
    name, region = _validate_partner(data, prefix)
    if Partner.objects.filter(name=name).exists():
        raise ServiceError("partner_name_taken", _("已有同名的联盟单位。"), status=409)
    return Partner.objects.create(name=name, kind=data.kind, region=region)


@transaction.atomic
def partner_update(*, actor: User, partner_id: int, data: PartnerInput) -> Partner:
    prefix = require_manager(actor)
    partner = partner_for(actor, partner_id)
    if not can_edit_partner(actor, partner):
        raise PermissionDenied("partner_not_editable",
                               _("这个单位登记在您的辖区之外，只有上级可以修改它的信息。"))
    partner = Partner.objects.select_for_update(of=("self",)).get(pk=partner.pk)
    name, region = _validate_partner(data, prefix)
    if Partner.objects.filter(name=name).exclude(pk=partner.pk).exists():
        raise ServiceError("partner_name_taken", _("已有同名的联盟单位。"), status=409)
    partner.name, partner.kind, partner.region = name, data.kind, region
    partner.save()
    return partner


def _own_unit(actor: User) -> OrgUnit | None:
    profile = staff_profile_of(actor)
    return profile.org_unit if profile else None


@transaction.atomic
def agreement_create(*, actor: User, partner_id: int, title: str, starts_on: date,
                     ends_on: date, org_unit_id: int | None = None) -> Agreement:
    """A co-building agreement (共建协议) between a partner the actor sees and a service
    centre in the actor's scope (their own by default)."""
    prefix = require_manager(actor)
    partner = partner_for(actor, partner_id)
    title = clean_text(title, limit=120, code="title_too_long", label=_("协议名称"))
    if not title:
        raise ServiceError("title_required", _("请填写协议名称。"))
    if not isinstance(starts_on, date) or not isinstance(ends_on, date):
        raise ServiceError("dates_required", _("请填写开始和结束日期。"))
    if ends_on < starts_on:
        raise ServiceError("ends_before_start", _("结束日期不能早于开始日期。"))
    if org_unit_id is None:
        unit = _own_unit(actor)
        if unit is None:
            raise ServiceError("org_unit_required", _("请选择签订协议的阵地。"))
    else:
        unit = OrgUnit.objects.filter(region_q("region", prefix), pk=org_unit_id).first()
        if unit is None:
            raise NotFound("org_unit_not_found", _("找不到这个阵地，或不在您的辖区内。"))
    return Agreement.objects.create(partner=partner, org_unit=unit, title=title,
                                    starts_on=starts_on, ends_on=ends_on, created_by=actor)


@transaction.atomic
def agreement_end(*, actor: User, agreement_id: int, ends_on: date | None = None) -> Agreement:
    """End an agreement early (today by default). Ended agreements stay on record."""
    prefix = require_manager(actor)
    agreement = (Agreement.objects.select_for_update(of=("self",))
                 .in_region(prefix).filter(pk=agreement_id).first())
    if agreement is None:
        raise NotFound("agreement_not_found", _("找不到这份共建协议。"))
    ends_on = ends_on or timezone.localdate()
    if ends_on < agreement.starts_on:
        raise ServiceError("ends_before_start", _("结束日期不能早于开始日期。"))
    if ends_on >= agreement.ends_on:
        raise ServiceError("not_earlier", _("提前结束的日期要早于原定结束日期。"))
    agreement.ends_on = ends_on
    agreement.save(update_fields=["ends_on"])
    return agreement


@transaction.atomic
def partner_member_create(*, actor: User, partner_id: int, username: str, password: str,
                          display_name: str = "") -> User:
    """A login for a partner's staff, who then manage their offers and answer needs."""
    require_manager(actor)
    partner = partner_for(actor, partner_id)
    if not can_manage_partner(actor, partner):
        raise PermissionDenied("partner_not_manageable", _("您不能为这个单位开设账号。"))
    username = (username or "").strip()
    if not username or len(username) > 150:
        raise ServiceError("username_required", _("请填写 150 字以内的用户名。"))
    if User.objects.filter(username=username).exists():
        raise ServiceError("username_taken", _("用户名已存在。"), status=409)
    user = User(username=username, kind=UserKind.PARTNER,
                display_name=(display_name or partner.name).strip()[:40])
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise ServiceError("weak_password", " ".join(error.messages)) from None
    user.set_password(password)
    user.save()
    PartnerMember.objects.create(user=user, partner=partner)
    return user


def partner_authenticate(*, username: str, password: str, ip: str | None) -> User:
    """A partner user's password sign-in; ten wrong passwords lock the name for 15 minutes.
    Staff and workers are told to use their own sign-in pages."""
    username = (username or "").strip()
    if throttle.failure_count("partner_login", username) >= LOGIN_LOCK_AFTER:
        raise ServiceError("login_locked",
                           _("错误次数过多，账号已暂时锁定，请 15 分钟后再试。"), status=429)
    user = authenticate(username=username, password=password or "")
    if user is None:
        throttle.failure_add("partner_login", username, limit=LOGIN_LOCK_AFTER,
                             window=LOGIN_LOCK_FOR)
        raise ServiceError("login_failed", _("用户名或密码不正确。"))
    if not PartnerMember.objects.filter(user=user).exists():
        raise PermissionDenied("partners_only",
                               _("这不是联盟单位账号。工作人员请从工作台登录。"))
    throttle.failure_clear("partner_login", username)
    return user

"""Small helpers shared by the alliance's services."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import User
from nuanxin.alliance.selectors import is_manager
from nuanxin.common.errors import (
    NotFound,
    PermissionDenied,
    ServiceError,
    lazy_format,
)
from nuanxin.common.scoping import access_of, covers
from nuanxin.geo.models import Region


def now() -> datetime:
    return timezone.now()


def require_manager(user: User) -> str:
    """The actor's scope prefix ("" for superusers); refuses people who may not change the
    alliance's data (station keepers, workers, partners, anonymous)."""
    prefix = access_of(user).prefix
    if prefix is None or not is_manager(user):
        raise PermissionDenied("not_allowed", _("您没有管理暖新联盟的权限。"))
    return prefix


def region_in(code: str, prefix: str, *, error_code: str = "region_not_found") -> Region:
    """The region named by `code`, if it lies inside the subtree `prefix`; else NotFound
    (a region outside one's scope looks like no region at all)."""
    code = (code or "").strip()
    region = Region.objects.filter(code=code).first() if code else None
    if region is None or not covers(prefix, region.code):
        raise NotFound(error_code, _("没有这个行政区划代码，或不在您的辖区内。"))
    return region


def clean_text(value: str | None, *, limit: int, code: str, label) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        raise ServiceError(code, lazy_format(_("%(label)s不能超过 %(n)d 个字。"),
                                             label=label, n=limit))
    return value

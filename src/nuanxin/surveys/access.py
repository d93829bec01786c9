"""Who may do what with surveys and home visits.

Managers (accounts.MANAGER_ROLES) work inside their region (common.scoping): a survey or a
visit outside it answers "not found", exactly as if it did not exist. Station keepers keep
the doors open but do not run surveys or visits.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import MANAGER_ROLES, OrgUnit, User
from nuanxin.accounts.selectors import staff_profile_of
from nuanxin.common.errors import NotFound, PermissionDenied
from nuanxin.common.scoping import access_of
from nuanxin.geo.models import Region

NOT_A_MANAGER = _("您没有管理问卷和走访的权限。")


def require_manager(user: User) -> None:
    """Refuses everyone but survey/visit managers (and superusers)."""
    access = access_of(user)
    if not (access.superuser or access.role in MANAGER_ROLES):
        raise PermissionDenied("not_allowed", NOT_A_MANAGER)


def region_in_scope(user: User, code: str, *, code_name: str = "region_not_found") -> Region:
    require_manager(user)
    region = (Region.objects.visible_to(user).select_related("parent")
              .filter(code=(code or "").strip()).first())
    if region is None:
        raise NotFound(code_name, _("找不到这个区划，或者它不在您的管辖范围内。"))
    return region


def org_unit_of(user: User, region: Region) -> OrgUnit:
    """The acting unit: the staff member's own; a superuser acts for the region's unit."""
    profile = staff_profile_of(user)
    if profile is not None:
        return profile.org_unit
    from nuanxin.needs.services import owner_for_region

    return owner_for_region(region)

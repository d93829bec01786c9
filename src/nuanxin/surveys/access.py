"""Who may do what with surveys and home visits; one place for the scope rules.

Staff work inside their region (accounts.selectors.scope_prefix): a survey or a visit
outside it answers "not found", exactly as if it did not exist. Station keepers keep the
doors open but do not run surveys or visits.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import ADMIN_ROLES, OrgUnit, StaffRole, User
from nuanxin.accounts.selectors import scope_prefix, staff_profile_of
from nuanxin.common.errors import NotFound, PermissionDenied
from nuanxin.geo.models import Region

MANAGER_ROLES = {StaffRole.COMMUNITY_STAFF} | ADMIN_ROLES


def manager_prefix(user: User) -> str:
    """The region prefix a survey/visit manager works in; refuses everyone else."""
    prefix = scope_prefix(user)
    if prefix is None:
        raise PermissionDenied("not_allowed", _("您没有管理问卷和走访的权限。"))
    if not user.is_superuser:
        profile = staff_profile_of(user)
        if profile is None or profile.role not in MANAGER_ROLES:
            raise PermissionDenied("not_allowed", _("您没有管理问卷和走访的权限。"))
    return prefix


def is_manager(user) -> bool:
    try:
        manager_prefix(user)
    except PermissionDenied:
        return False
    return True


def region_in_scope(user: User, code: str, *, code_name: str = "region_not_found") -> Region:
    prefix = manager_prefix(user)
    region = Region.objects.select_related("parent").filter(code=(code or "").strip()).first()
    if region is None or not region.code.startswith(prefix):
        raise NotFound(code_name, _("找不到这个区划，或者它不在您的管辖范围内。"))
    return region


def org_unit_of(user: User, region: Region) -> OrgUnit:
    """The acting unit: the staff member's own; a superuser acts for the region's unit."""
    profile = staff_profile_of(user)
    if profile is not None:
        return profile.org_unit
    from nuanxin.needs.services import owner_for_region

    return owner_for_region(region)

"""Reads about people, scoped to what the viewer may see."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from nuanxin.accounts.models import StaffProfile, User, UserKind


def staff_profile_of(user) -> StaffProfile | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.staff_profile
    except StaffProfile.DoesNotExist:
        return None


def scope_prefix(user) -> str | None:
    """The region-code prefix a staff member works in; None if they see no region's data.

    Superusers see everything (prefix ""). This is the one place scope is decided.
    """
    if getattr(user, "is_superuser", False):
        return ""
    profile = staff_profile_of(user)
    if profile is None:
        return None
    return profile.org_unit.region.prefix


def in_scope(user, region_code: str | None) -> bool:
    prefix = scope_prefix(user)
    return prefix is not None and region_code is not None and region_code.startswith(prefix)


def users_visible_to(viewer) -> QuerySet[User]:
    """Workers whose home community is inside the viewer's region; nothing for non-staff."""
    prefix = scope_prefix(viewer)
    if prefix is None:
        return User.objects.none()
    qs = User.objects.filter(kind=UserKind.WORKER)
    if prefix:
        qs = qs.filter(Q(worker_profile__home_region_id__startswith=prefix))
    return qs

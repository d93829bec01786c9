"""Reads about people, scoped to what the viewer may see."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from nuanxin.accounts.models import StaffProfile, User, UserKind
from nuanxin.common.scoping import NOBODY, Access, access_of, region_q


def staff_profile_of(user) -> StaffProfile | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.staff_profile
    except StaffProfile.DoesNotExist:
        return None


def access_scope(user) -> Access:
    """Who `user` is for common.scoping: their region prefix and role, or their partner.

    This is the one place scope is decided: staff work in their unit's region subtree,
    superusers everywhere (prefix "")."""
    if getattr(user, "is_superuser", False):
        return Access(prefix="", superuser=True)
    profile = staff_profile_of(user)
    if profile is not None:
        return Access(prefix=profile.org_unit.region.prefix, role=profile.role)
    # The reverse one-to-one is cached on the user, absent or not: asking again is free.
    member = getattr(user, "partner_member", None)
    return Access(partner_id=member.partner_id) if member is not None else NOBODY


def users_visible_to(viewer) -> QuerySet[User]:
    """Workers whose home community is inside the viewer's region; nothing for non-staff."""
    prefix = access_of(viewer).prefix
    if prefix is None:
        return User.objects.none()
    return User.objects.filter(region_q("worker_profile__home_region", prefix),
                               kind=UserKind.WORKER)


def worker_profile_for_phone(phone: str):
    """The worker profile behind a (normalised) number, if any. Only for callers that have
    already checked the number's SMS code: the answer tells whether the number is known."""
    from nuanxin.accounts.models import WorkerProfile

    return WorkerProfile.objects.filter(user__phone=phone).first()


def worker_profile_of(user):
    """The logged-in worker's profile with the home community and its parents, or None."""
    from nuanxin.accounts.models import WorkerProfile

    if not getattr(user, "is_authenticated", False):
        return None
    return (
        WorkerProfile.objects.filter(user=user)
        .select_related("home_region__parent__parent__parent")
        .first()
    )


def region_path(region) -> str:
    """'金华市 义乌市 稠城街道 义驾山社区' for a community whose parents are loaded."""
    names = []
    node = region
    while node is not None and node.level != "province":
        names.append(node.name)
        if node.level == "city":
            break
        node = node.parent
    return " ".join(reversed(names))


def district_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Zhejiang's districts grouped by city, for a select with optgroups."""
    from nuanxin.geo.models import Region, RegionLevel

    groups: dict[str, list[tuple[str, str]]] = {}
    rows = (
        Region.objects.filter(level=RegionLevel.DISTRICT)
        .select_related("parent")
        .order_by("code")
        .only("code", "name", "parent__name")
    )
    for district in rows:
        groups.setdefault(district.parent.name, []).append((district.code, district.name))
    return list(groups.items())


def is_district(code: str) -> bool:
    from nuanxin.geo.models import Region, RegionLevel

    return bool(code) and Region.objects.filter(code=code, level=RegionLevel.DISTRICT).exists()


COMMUNITY_CHOICE_LIMIT = 300


def community_choices(*, district_code: str = "", query: str = "") -> list:
    """Communities for the home-community select: those of one district, or those whose
    name (or street's name) contains `query` anywhere in the province. Each row carries its
    street and district so the page can say where it is."""
    from nuanxin.geo.models import Region, RegionLevel

    qs = Region.objects.filter(level=RegionLevel.COMMUNITY).select_related(
        "parent__parent__parent"
    )
    query = (query or "").strip()[:20]
    if query:
        qs = qs.filter(Q(name__contains=query) | Q(parent__name__contains=query))
    elif district_code:
        qs = qs.in_region(district_code)
    else:
        return []
    return list(qs.order_by("code")[:COMMUNITY_CHOICE_LIMIT])


def notifications_for(user, *, limit: int = 50):
    from nuanxin.accounts.models import Notification

    return Notification.objects.filter(user=user)[:limit]


def unread_notification_count(user) -> int:
    from nuanxin.accounts.models import Notification

    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()

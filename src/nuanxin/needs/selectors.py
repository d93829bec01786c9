"""Reads of the needs list, already scoped to the viewer."""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db.models import BooleanField, Case, F, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import MANAGER_ROLES, UserKind
from nuanxin.common.errors import NotFound, ServiceError
from nuanxin.common.scoping import access_of, covers
from nuanxin.geo.models import Region
from nuanxin.geo.spatial import haversine_m
from nuanxin.needs.models import (
    OPEN_STATUSES,
    PRIVATE_CATEGORIES,
    Need,
    NeedCategory,
    NeedFeedback,
    NeedFollower,
    NeedRaiser,
    NeedSource,
    NeedStatus,
)
from nuanxin.needs.similarity import (
    SIMILAR,
    similarity_label,
    similarity_level,
    text_similarity,
)

SIMILAR_RADIUS_M = 3000
SIMILAR_CANDIDATES = 500
NEARBY_LIMIT = 30
SEARCH_MAX = 80

_OPEN = [s.value for s in OPEN_STATUSES]


def needs_visible_to(user) -> QuerySet[Need]:
    """Staff: needs in their region. Workers: needs they raised or follow. Others: none."""
    if not getattr(user, "is_authenticated", False):
        return Need.objects.none()
    if user.kind == UserKind.WORKER:
        # Raisers always follow; a subquery (not a join) keeps the rows distinct.
        return Need.objects.filter(
            pk__in=NeedFollower.objects.filter(user=user).values("need_id"))
    return Need.objects.visible_to(user)


def need_for(user, need_id: int) -> Need:
    need = needs_visible_to(user).select_related("region", "owner").filter(pk=need_id).first()
    if need is None:
        raise NotFound(*Need.not_found)
    return need


def merged_destination_for(user, need_id: int) -> Need | None:
    """Where a need the user can no longer see went, if it was merged into one they can:
    old notification links keep working after a merge."""
    seen: set[int] = set()
    current = Need.objects.filter(pk=need_id).only("pk", "status", "merged_into_id").first()
    while current is not None and current.status == NeedStatus.MERGED and current.pk not in seen:
        seen.add(current.pk)
        target = needs_visible_to(user).filter(pk=current.merged_into_id).first()
        if target is not None:
            return target
        current = Need.objects.filter(pk=current.merged_into_id).only(
            "pk", "status", "merged_into_id").first()
    return None


def with_overdue(qs: QuerySet[Need]) -> QuerySet[Need]:
    today = timezone.localdate()
    return qs.annotate(is_overdue=Case(
        When(status__in=_OPEN, target_date__lt=today, then=Value(True)),
        default=Value(False), output_field=BooleanField()))


def needs_overdue(qs: QuerySet[Need]) -> QuerySet[Need]:
    return qs.filter(status__in=_OPEN, target_date__lt=timezone.localdate())


def is_raiser(user, need: Need) -> bool:
    return NeedRaiser.objects.filter(need=need, worker=user).exists()


def is_follower(user, need: Need) -> bool:
    return NeedFollower.objects.filter(need=need, user=user).exists()


def feedback_of(user, need: Need) -> NeedFeedback | None:
    return NeedFeedback.objects.filter(need=need, worker=user).first()


# --- the staff list -----------------------------------------------------------------------

SORTS = {
    "urgency": ["-urgency", "-created_at", "-id"],  # after what needs attention: _ordering
    "created": ["-created_at", "-id"],
    "oldest": ["created_at", "id"],
}


def _ordering(sort: str) -> list:
    """紧急优先 puts what someone must act on first: overdue open needs, then the other open
    ones, closed ones (resolved, declined, merged) last; the most urgent first within each,
    then the nearest target date."""
    if sort != "urgency":
        return SORTS[sort]
    attention = Case(
        When(status__in=_OPEN, target_date__lt=timezone.localdate(), then=Value(0)),
        When(status__in=_OPEN, then=Value(1)),
        default=Value(2), output_field=IntegerField())
    return [attention.asc(), "-urgency", F("target_date").asc(nulls_last=True),
            *SORTS["created"]]


@dataclass
class NeedFilters:
    status: str = ""
    category: str = ""
    source: str = ""
    region: str = ""
    overdue: bool = False
    q: str = ""
    sort: str = "urgency"


def check_filters(user, filters: NeedFilters) -> NeedFilters:
    """Refuse values that name nothing, so a typo never silently shows everything."""
    if filters.status and filters.status not in NeedStatus.values:
        raise ServiceError("invalid_status", _("未知的需求状态。"))
    if filters.category and filters.category not in NeedCategory.values:
        raise ServiceError("invalid_category", _("未知的需求类别。"))
    if filters.source and filters.source not in NeedSource.values:
        raise ServiceError("invalid_source", _("未知的需求来源。"))
    if filters.sort not in SORTS:
        raise ServiceError("invalid_sort", _("未知的排序方式。"))
    filters.q = (filters.q or "").strip()
    if len(filters.q) > SEARCH_MAX:
        raise ServiceError("search_too_long", _("搜索词太长。"))
    if filters.region:
        prefix = access_of(user).prefix or ""
        region = Region.objects.filter(code=filters.region).only("code", "prefix").first()
        if region is None or not covers(prefix, region.code):
            raise ServiceError("invalid_region", _("没有这个行政区划代码，或不在您的辖区内。"))
    return filters


def needs_for_staff(user, filters: NeedFilters | None = None) -> QuerySet[Need]:
    """The needs list as staff see it: scoped, filtered, sorted, with `is_overdue`."""
    filters = filters or NeedFilters()
    qs = needs_visible_to(user)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.category:
        qs = qs.filter(category=filters.category)
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.region:
        region = Region.objects.only("prefix").get(code=filters.region)
        qs = qs.in_region(region.prefix)
    if filters.overdue:
        qs = needs_overdue(qs)
    if filters.q:
        if filters.q.lstrip("#").isdigit():
            qs = qs.filter(Q(pk=int(filters.q.lstrip("#"))) | Q(title__icontains=filters.q))
        else:
            qs = qs.filter(Q(title__icontains=filters.q) | Q(description__icontains=filters.q))
    return (with_overdue(qs).select_related("region", "owner")
            .order_by(*_ordering(filters.sort)))


def region_filter_choices(user, limit: int = 400) -> list[Region]:
    """Regions to filter the staff list by: the communities in scope that have needs, and
    the streets and districts above them that are still inside the scope, in code order."""
    prefix = access_of(user).prefix
    if prefix is None:
        return []
    codes = needs_visible_to(user).order_by().values_list("region_id", flat=True).distinct()
    wanted = set()
    for code in codes[:limit]:
        for length in (6, 9, 12):
            if len(code) >= length >= len(prefix):
                wanted.add(code[:length])
    return list(Region.objects.filter(code__in=wanted).only("code", "name", "level")
                .order_by("code"))


# --- what a worker sees -------------------------------------------------------------------

def needs_of_worker(user) -> QuerySet[Need]:
    """A worker's list: what they raised or follow, newest first. Needs merged away are
    left out: whoever followed one follows the need it went into."""
    return (needs_visible_to(user).exclude(status=NeedStatus.MERGED)
            .select_related("region").order_by("-created_at", "-id"))


def needs_open_nearby(user, region_code: str, *, limit: int = NEARBY_LIMIT) -> list[Need]:
    """Open needs others raised in a community, most raised first, without the private
    categories (legal, health); each carries `joined` (the worker already raised or
    follows it)."""
    needs = list(Need.objects.filter(region_id=region_code, status__in=_OPEN)
                 .exclude(category__in=[c.value for c in PRIVATE_CATEGORIES])
                 .select_related("region").order_by("-raised_count", "-created_at", "-id")
                 [:limit])
    followed = set(NeedFollower.objects.filter(user=user, need__in=[n.pk for n in needs])
                   .values_list("need_id", flat=True)) if needs else set()
    for need in needs:
        need.joined = need.pk in followed
    return needs


def worker_home_region(user) -> Region | None:
    from nuanxin.accounts.selectors import worker_profile_of

    profile = worker_profile_of(user)
    return profile.home_region if profile else None


def nearest_community(lat: float, lng: float) -> Region | None:
    """The community whose centre is nearest a point, within the point's district."""
    from nuanxin.geo.models import RegionLevel
    from nuanxin.geo.selectors import locate_district_code

    district = locate_district_code(lat, lng)
    if district is None:
        return None
    rows = (Region.objects.in_region(district)
            .filter(level=RegionLevel.COMMUNITY, center_lat__isnull=False)
            .select_related("parent"))
    best = min(rows, default=None,
               key=lambda r: haversine_m(lat, lng, r.center_lat, r.center_lng))
    return best


# --- a need's people and history ----------------------------------------------------------

def need_raisers(need: Need) -> list[dict]:
    """Who raised a need, for staff: masked phones only."""
    rows = NeedRaiser.objects.filter(need=need).select_related("worker").order_by("raised_at",
                                                                                   "id")
    return [{"name": r.worker.display_name, "phone": r.worker.masked_phone,
             "source": r.get_source_display(), "at": r.raised_at, "user_id": r.worker_id}
            for r in rows]


def need_events(need: Need):
    return need.events.select_related("actor", "actor_unit").order_by("at", "id")


def need_feedback(need: Need) -> list[NeedFeedback]:
    return list(need.feedback.order_by("at", "id"))


# --- similar needs ------------------------------------------------------------------------

def needs_similar(need: Need, *, limit: int = 10, viewer=None) -> list[dict]:
    """Open needs of the same category nearby (same community, or within 3 km in the same
    street), with the reasons a person can check: distance, text similarity, same place.

    With `viewer`, only needs that person may see (always pass it from a page or the API).
    """
    base = needs_visible_to(viewer) if viewer is not None else Need.objects.all()
    candidates = (
        base.in_region(need.region_id[:9]).filter(category=need.category, status__in=_OPEN)
        .exclude(pk=need.pk)
        .select_related("region", "owner")
        .order_by("-created_at", "-id")[:SIMILAR_CANDIDATES]
    )
    scored = []
    for other in candidates:
        same_place = other.region_id == need.region_id
        distance = None
        if None not in (need.lat, need.lng, other.lat, other.lng):
            distance = haversine_m(need.lat, need.lng, other.lat, other.lng)
        near = same_place or (distance is not None and distance <= SIMILAR_RADIUS_M)
        if not near:
            continue
        ratio = text_similarity(need.title, need.description, other.title, other.description)
        if ratio < SIMILAR and not same_place:
            continue
        scored.append({
            "need": other,
            "text_similarity": round(ratio, 2),
            "similarity": similarity_label(ratio),
            "similarity_level": similarity_level(ratio),
            "distance_m": None if distance is None else round(distance),
            "same_region": same_place,
            "score": ratio + (0.3 if same_place else 0)
            + (0.2 * (1 - distance / SIMILAR_RADIUS_M) if distance is not None
               and distance <= SIMILAR_RADIUS_M else 0),
        })
    scored.sort(key=lambda r: (-r["score"], r["need"].pk))
    return scored[:limit]


def can_manage(user) -> bool:
    access = access_of(user)
    return access.superuser or access.role in MANAGER_ROLES


def median(values: list[float]) -> float | None:
    if not values:
        return None
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def _round(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 1)

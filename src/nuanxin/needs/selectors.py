"""Reads of the needs list, already scoped to the viewer."""

from __future__ import annotations

import math
from difflib import SequenceMatcher

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import UserKind
from nuanxin.accounts.selectors import scope_prefix
from nuanxin.common.errors import NotFound
from nuanxin.geo.spatial import haversine_m
from nuanxin.needs.models import OPEN_STATUSES, Need, NeedRaiser

SIMILAR_RADIUS_M = 3000
SIMILAR_TEXT_RATIO = 0.35


def needs_visible_to(user) -> QuerySet[Need]:
    """Staff: needs in their region. Workers: needs they raised or follow. Others: none."""
    if not getattr(user, "is_authenticated", False):
        return Need.objects.none()
    if user.kind == UserKind.WORKER:
        return Need.objects.filter(followers__user=user).distinct()
    prefix = scope_prefix(user)
    if prefix is None:
        return Need.objects.none()
    return Need.objects.filter(region__code__startswith=prefix) if prefix else Need.objects.all()


def need_for(user, need_id: int) -> Need:
    need = needs_visible_to(user).select_related("region", "owner").filter(pk=need_id).first()
    if need is None:
        raise NotFound("need_not_found", _("找不到这条需求。"))
    return need


def needs_overdue(qs: QuerySet[Need]) -> QuerySet[Need]:
    return qs.filter(status__in=[s.value for s in OPEN_STATUSES],
                     target_date__lt=timezone.localdate())


def is_raiser(user, need: Need) -> bool:
    return NeedRaiser.objects.filter(need=need, worker=user).exists()


def _text_similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio()


def needs_similar(need: Need, *, limit: int = 10) -> list[dict]:
    """Open needs of the same category nearby (same community, or within 3 km), with the
    reasons a person can check: distance, shared words, same place."""
    candidates = (
        Need.objects.filter(category=need.category, status__in=[s.value for s in OPEN_STATUSES],
                            region__code__startswith=need.region_id[:9])
        .exclude(pk=need.pk)
        .select_related("region")[:500]
    )
    text = f"{need.title} {need.description}"
    scored = []
    for other in candidates:
        same_place = other.region_id == need.region_id
        distance = None
        if None not in (need.lat, need.lng, other.lat, other.lng):
            distance = haversine_m(need.lat, need.lng, other.lat, other.lng)
        near = same_place or (distance is not None and distance <= SIMILAR_RADIUS_M)
        if not near:
            continue
        ratio = _text_similarity(text, f"{other.title} {other.description}")
        if ratio < SIMILAR_TEXT_RATIO and not same_place:
            continue
        scored.append({
            "need": other,
            "text_similarity": round(ratio, 2),
            "distance_m": None if distance is None else round(distance),
            "same_region": same_place,
            "score": ratio + (0.3 if same_place else 0)
            + (0.2 * (1 - distance / SIMILAR_RADIUS_M) if distance is not None
               and distance <= SIMILAR_RADIUS_M else 0),
        })
    scored.sort(key=lambda r: (-r["score"], r["need"].pk))
    return scored[:limit]


def median(values: list[float]) -> float | None:
    if not values:
        return None
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def _round(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 1)

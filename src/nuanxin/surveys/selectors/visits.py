"""Reads of home visits, the visiting plan and visit coverage, scoped to the viewer.

Coverage answers "how many of the workers who live here have we visited this quarter":
distinct workers whose home community is inside the staff member's region with a visit
in the quarter, over all workers living there. Both are single COUNT queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from nuanxin.accounts.models import User
from nuanxin.accounts.selectors import users_visible_to
from nuanxin.common.errors import NotFound
from nuanxin.surveys.access import require_manager
from nuanxin.surveys.models import HomeVisit, VisitFollowUp, VisitPlan
from nuanxin.surveys.services.visits import week_of


def visits_visible_to(user) -> QuerySet[HomeVisit]:
    require_manager(user)
    return HomeVisit.objects.visible_to(user).select_related("region", "worker", "visitor")


def visit_for(user, visit_id: int) -> HomeVisit:
    visit = visits_visible_to(user).filter(pk=visit_id).first()
    if visit is None:
        raise NotFound(*HomeVisit.not_found)
    return visit


def follow_ups_open(user) -> QuerySet[VisitFollowUp]:
    require_manager(user)
    return (VisitFollowUp.objects.visible_to(user).filter(done=False)
            .select_related("visit__worker", "visit__region").order_by("due_on", "pk"))


def plans_in_week(user, day: date) -> tuple[date, date, list[VisitPlan]]:
    require_manager(user)
    monday, sunday = week_of(day)
    plans = list(VisitPlan.objects.visible_to(user).filter(planned_on__range=(monday, sunday))
                 .select_related("worker__worker_profile", "region", "visit")
                 .order_by("planned_on", "region_id", "pk"))
    return monday, sunday, plans


def quarter_of(day: date) -> tuple[date, date]:
    """First day of `day`'s quarter and first day of the next."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    end = date(day.year + (first_month + 3 > 12), (first_month + 3 - 1) % 12 + 1, 1)
    return start, end


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (datetime.combine(start, time.min, tzinfo=tz),
            datetime.combine(end, time.min, tzinfo=tz))


def residents(user) -> QuerySet[User]:
    """Workers whose home community is inside the viewer's region."""
    require_manager(user)
    return users_visible_to(user).filter(worker_profile__home_region__isnull=False)


@dataclass
class Coverage:
    start: date
    end: date  # exclusive
    residents: int
    visited: int

    @property
    def percent(self) -> float:
        return round(100 * self.visited / self.residents, 1) if self.residents else 0.0

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)


def _visited_in(start: date, end: date):
    since, until = _bounds(start, end)
    return HomeVisit.objects.filter(visited_at__gte=since, visited_at__lt=until,
                                    worker_id=OuterRef("pk"))


def coverage(user, *, today: date | None = None) -> Coverage:
    start, end = quarter_of(today or timezone.localdate())
    people = residents(user)
    visited = people.filter(Exists(_visited_in(start, end))).count()
    return Coverage(start, end, people.count(), visited)


def coverage_by_community(user, *, today: date | None = None, limit: int = 300) -> list[dict]:
    start, end = quarter_of(today or timezone.localdate())
    home = "worker_profile__home_region"
    rows = (residents(user).annotate(seen=Exists(_visited_in(start, end))).order_by()
            .values(f"{home}_id", f"{home}__name", f"{home}__parent__name",
                    f"{home}__parent__parent__name")
            .annotate(total=Count("pk"), visited=Count("pk", filter=Q(seen=True)))
            .order_by(f"{home}_id")[:limit])
    # Community names repeat across a province (长乐社区 ×3): say which district and street.
    return [{"code": r[f"{home}_id"], "name": r[f"{home}__name"],
             "place": " ".join(n for n in (r[f"{home}__parent__parent__name"],
                                           r[f"{home}__parent__name"]) if n),
             "total": r["total"], "visited": r["visited"],
             "percent": round(100 * r["visited"] / r["total"], 1) if r["total"] else 0.0}
            for r in rows]


def not_visited(user, *, today: date | None = None, community: str = "") -> QuerySet[User]:
    """Residents without a visit this quarter (the drill-down behind the coverage figure)."""
    start, end = quarter_of(today or timezone.localdate())
    qs = residents(user).exclude(Exists(_visited_in(start, end)))
    if community:
        qs = qs.filter(worker_profile__home_region_id=community)
    return qs.select_related("worker_profile__home_region__parent__parent").order_by(
        "worker_profile__home_region_id", "pk")

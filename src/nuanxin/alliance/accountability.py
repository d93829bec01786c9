"""The public accountability page of a community or street (公开的“三张清单”).

Who reads it: anyone — a rider checking what became of the charging problem they raised, a
resident, a journalist. So it holds no personal data: counts, need titles, outcomes, project
titles and partner names. Needs in the private categories (legal, health: wages owed, an
illness) are counted but never listed by title or outcome.

Needs are read through the figures the needs app registered (common.stats), the same
records the dashboards count, so the page and the dashboards cannot disagree.
"""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils import timezone

from nuanxin.alliance.models import (
    OPEN_PROJECT_STATUSES,
    Agreement,
    Project,
    ProjectNeed,
    ProjectStatus,
    project_id_from_ref,
)
from nuanxin.alliance.selectors import project_partner_names
from nuanxin.common.scoping import region_q
from nuanxin.common.stats import stat
from nuanxin.geo.models import Region
from nuanxin.needs.choices import PRIVATE_CATEGORIES, NeedCategory, NeedStatus

RESOLVED_SHOWN = 50
IN_PROGRESS = (NeedStatus.ACCEPTED, NeedStatus.IN_PROJECT)


def _needs(prefix: str):
    return stat("needs.raised").records(prefix, None, None)


def need_counts(prefix: str) -> dict:
    """Raised / waiting / in progress / resolved, in total and by category (most raised
    first)."""
    rows = _needs(prefix).order_by().values("category", "status").annotate(n=Count("pk"))
    labels = dict(NeedCategory.choices)
    by_cat: dict[str, dict] = {}
    total = {"raised": 0, "waiting": 0, "in_progress": 0, "resolved": 0, "closed_other": 0}
    for row in rows:
        cat = by_cat.setdefault(row["category"], {
            "category": row["category"], "label": labels.get(row["category"], row["category"]),
            "raised": 0, "waiting": 0, "in_progress": 0, "resolved": 0, "closed_other": 0})
        key = ("waiting" if row["status"] == NeedStatus.SUBMITTED
               else "in_progress" if row["status"] in IN_PROGRESS
               else "resolved" if row["status"] == NeedStatus.RESOLVED else "closed_other")
        for bucket in (cat, total):
            bucket["raised"] += row["n"]
            bucket[key] += row["n"]
    categories = sorted(by_cat.values(), key=lambda c: (-c["raised"], c["category"]))
    for cat in categories:
        cat["share"] = round(100 * cat["raised"] / total["raised"]) if total["raised"] else 0
    return {"total": total, "categories": categories}


def resolved_needs(prefix: str, *, limit: int = RESOLVED_SHOWN) -> tuple[list[dict], int]:
    """The most recently resolved needs, each with its project and partners."""
    qs = stat("needs.resolved").records(prefix, None, None)
    total = qs.count()
    rows = list(qs.order_by("-resolved_at", "-pk").values(
        "pk", "title", "category", "outcome", "resolved_at", "project_ref", "region__name",
        "raised_count")[:limit])
    links = {pn.need_id: pn.project for pn in
             ProjectNeed.objects.filter(need_id__in=[r["pk"] for r in rows])
             .select_related("project")}
    for r in rows:
        project = links.get(r["pk"])
        if project is None:  # resolved in a project whose link row is gone: use the ref
            pid = project_id_from_ref(r["project_ref"])
            project = Project.objects.filter(pk=pid).first() if pid else None
        r["project"] = project
    partners = project_partner_names(sorted({r["project"].pk for r in rows if r["project"]}))
    labels = dict(NeedCategory.choices)
    out = []
    for r in rows:
        private = r["category"] in PRIVATE_CATEGORIES
        out.append({
            "private": private,
            "title": "" if private else r["title"],
            "outcome": "" if private else r["outcome"],
            "category": r["category"], "category_label": labels.get(r["category"], ""),
            "resolved_on": timezone.localdate(r["resolved_at"]) if r["resolved_at"] else None,
            "place": r["region__name"], "raised_count": r["raised_count"],
            "project": r["project"],
            "partners": partners.get(r["project"].pk, []) if r["project"] else [],
        })
    return out, total


def projects_for(prefix: str) -> dict:
    """Projects owned in the region, or answering its needs: under way and completed."""
    in_project = (_needs(prefix).filter(status=NeedStatus.IN_PROJECT)
                  .values_list("pk", flat=True))
    here = region_q("owner__region", prefix) | Q(
        pk__in=ProjectNeed.objects.filter(need_id__in=list(in_project)).values("project_id"))
    base = Project.objects.filter(here).annotate(need_count=Count("needs", distinct=True))
    open_ = list(base.filter(status__in=OPEN_PROJECT_STATUSES)
                 .prefetch_related("milestones").order_by("-created_at", "-id")[:20])
    closed = list(base.filter(status=ProjectStatus.CLOSED).order_by("-closed_at", "-id")[:10])
    names = project_partner_names([p.pk for p in open_ + closed])
    return {
        "open": [{"p": p, "partners": names[p.pk],
                  "milestones": list(p.milestones.all())} for p in open_],
        "closed": [{"p": p, "partners": names[p.pk]} for p in closed],
    }


def alliance_members(prefix: str) -> list[str]:
    """Names of the partners with a co-building agreement in force with a centre here."""
    today = timezone.localdate()
    return list(Agreement.objects.in_region(prefix).filter(starts_on__lte=today,
                                                           ends_on__gte=today)
                .order_by("partner__name").values_list("partner__name", flat=True).distinct())


def region_accountability(region: Region) -> dict:
    prefix = region.prefix
    counts = need_counts(prefix)
    resolved, resolved_total = resolved_needs(prefix)
    satisfaction = stat("needs.satisfaction").compute(prefix, None, None)
    return {
        "region": region, "counts": counts, "resolved": resolved,
        "resolved_total": resolved_total, "projects": projects_for(prefix),
        "members": alliance_members(prefix), "satisfaction": satisfaction,
    }


def street_communities(street: Region) -> list[dict]:
    """The street's communities with raised / resolved counts, for links from the street."""
    communities = list(Region.objects.filter(parent=street).order_by("code"))
    rows = (_needs(street.prefix).order_by().values("region_id")
            .annotate(raised=Count("pk"),
                      resolved=Count("pk", filter=Q(status=NeedStatus.RESOLVED))))
    counts = {r["region_id"]: r for r in rows}
    return [{"region": c, "raised": counts.get(c.code, {}).get("raised", 0),
             "resolved": counts.get(c.code, {}).get("resolved", 0)} for c in communities]

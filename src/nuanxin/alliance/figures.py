"""The alliance's figures for dashboards, each computed from records and traceable to them.

Region: a code prefix ("" = everywhere). Period: [start, end) on the moment that makes the
row count (a project's start or close, a resource's creation); partners have no date.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import Partner
from nuanxin.alliance.models import Agreement, Project, ProjectStatus, Resource
from nuanxin.common.scoping import region_q
from nuanxin.common.stats import register_stat


def _period(qs: QuerySet, field: str, start: datetime | None, end: datetime | None):
    if start:
        qs = qs.filter(**{f"{field}__gte": start})
    if end:
        qs = qs.filter(**{f"{field}__lt": end})
    return qs


def _projects(prefix: str) -> QuerySet[Project]:
    return Project.objects.in_region(prefix)


def projects_active_records(prefix, start, end):
    """Projects under way now that started in the period."""
    return _period(_projects(prefix).filter(status=ProjectStatus.ACTIVE), "started_at",
                   start, end)


def projects_closed_records(prefix, start, end):
    """Projects completed (closed with results) in the period."""
    return _period(_projects(prefix).filter(status=ProjectStatus.CLOSED), "closed_at",
                   start, end)


def project_cost_records(prefix, start, end):
    """Projects not cancelled, created in the period: what was put into answering needs."""
    return _period(_projects(prefix).exclude(status=ProjectStatus.CANCELLED), "created_at",
                   start, end)


def project_cost_fen(prefix, start, end) -> int:
    return project_cost_records(prefix, start, end).aggregate(t=Sum("cost_fen"))["t"] or 0


def partner_records(prefix, start, end):
    """Partners registered in the region (their region of work lies inside it)."""
    return Partner.objects.filter(region_q("region", prefix))


def resource_records(prefix, start, end):
    """Active offers located in the region, added in the period."""
    # located in the region: inside it, not the offers of a whole city around it
    qs = Resource.objects.filter(region_q("region", prefix), is_active=True)
    return _period(qs, "created_at", start, end)


def agreement_records(prefix, start, end):
    """Co-building agreements of the region's service centres that began in the period."""
    qs = Agreement.objects.in_region(prefix)
    return _period(qs, "starts_on", start.date() if start else None,
                   end.date() if end else None)


def _count(records):
    return lambda p, s, e: records(p, s, e).count()


register_stat("alliance.projects.active", label=_("推进中的项目"),
              compute=_count(projects_active_records), records=projects_active_records)
register_stat("alliance.projects.closed", label=_("完成的项目"),
              compute=_count(projects_closed_records), records=projects_closed_records)
register_stat("alliance.partners", label=_("联盟单位"), compute=_count(partner_records),
              records=partner_records)
register_stat("alliance.resources", label=_("在提供的资源"), compute=_count(resource_records),
              records=resource_records)
register_stat("alliance.agreements", label=_("共建协议"), compute=_count(agreement_records),
              records=agreement_records)
register_stat("alliance.project_cost", label=_("项目投入（分）"), compute=project_cost_fen,
              records=project_cost_records, unit="fen")

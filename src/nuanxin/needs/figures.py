"""The needs list's figures for dashboards: each computed from records, each traceable."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Avg, QuerySet
from django.utils.translation import gettext_lazy as _

from nuanxin.common.scoping import region_q
from nuanxin.common.stats import register_stat
from nuanxin.needs.models import Need, NeedFeedback, NeedStatus
from nuanxin.needs.selectors import median


def _in(qs: QuerySet, field: str, prefix: str, start: datetime | None, end: datetime | None):
    qs = qs.in_region(prefix)
    if start:
        qs = qs.filter(**{f"{field}__gte": start})
    if end:
        qs = qs.filter(**{f"{field}__lt": end})
    return qs


def raised_records(prefix, start, end):
    return _in(Need.objects.exclude(status=NeedStatus.MERGED), "created_at", prefix, start, end)


def accepted_records(prefix, start, end):
    return _in(Need.objects.filter(accepted_at__isnull=False), "accepted_at", prefix, start, end)


def resolved_records(prefix, start, end):
    return _in(Need.objects.filter(status=NeedStatus.RESOLVED), "resolved_at", prefix, start,
               end)


def median_days_to_resolution(prefix, start, end) -> float | None:
    rows = resolved_records(prefix, start, end).values_list("created_at", "resolved_at")
    return median([(done - made).total_seconds() / 86400 for made, done in rows])


def feedback_records(prefix, start, end):
    qs = NeedFeedback.objects.filter(region_q("need__region", prefix))
    if start:
        qs = qs.filter(at__gte=start)
    if end:
        qs = qs.filter(at__lt=end)
    return qs


def satisfaction(prefix, start, end) -> float | None:
    value = feedback_records(prefix, start, end).aggregate(avg=Avg("score"))["avg"]
    return None if value is None else round(value, 2)


register_stat("needs.raised", label=_("收集需求数"),
              compute=lambda p, s, e: raised_records(p, s, e).count(), records=raised_records)
register_stat("needs.accepted", label=_("受理需求数"),
              compute=lambda p, s, e: accepted_records(p, s, e).count(),
              records=accepted_records)
register_stat("needs.resolved", label=_("解决实际问题数"),
              compute=lambda p, s, e: resolved_records(p, s, e).count(),
              records=resolved_records)
register_stat("needs.median_days_to_resolution", label=_("解决用时中位数（天）"),
              compute=median_days_to_resolution, records=resolved_records, unit="days")
register_stat("needs.satisfaction", label=_("满意度（1–5）"), compute=satisfaction,
              records=feedback_records)

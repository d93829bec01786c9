"""Figures surveys and home visits contribute to dashboards, each traceable to records.

Anonymous responses carry only their survey and day, so counting them reveals nobody."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nuanxin.common.scoping import region_q
from nuanxin.common.stats import register_stat
from nuanxin.surveys.models import HomeVisit, Response


def response_records(prefix: str, start: datetime | None, end: datetime | None):
    qs = Response.objects.filter(region_q("survey__region", prefix))
    if start:
        qs = qs.filter(submitted_on__gte=timezone.localdate(start))
    if end:
        qs = qs.filter(submitted_on__lt=timezone.localdate(end))
    return qs


def visit_records(prefix: str, start: datetime | None, end: datetime | None):
    qs = HomeVisit.objects.in_region(prefix)
    if start:
        qs = qs.filter(visited_at__gte=start)
    if end:
        qs = qs.filter(visited_at__lt=end)
    return qs


register_stat("surveys.responses", label=_("问卷答卷数"),
              compute=lambda p, s, e: response_records(p, s, e).count(),
              records=response_records)
register_stat("surveys.home_visits", label=_("入户走访次数"),
              compute=lambda p, s, e: visit_records(p, s, e).count(), records=visit_records)

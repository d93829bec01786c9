"""Voice's figures for dashboards, computed from records."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from nuanxin.common.stats import register_stat
from nuanxin.voice.models import Story, StoryStatus


def published_records(prefix, start, end):
    """Stories on the public pages now, published in the period."""
    qs = Story.objects.filter(status=StoryStatus.PUBLISHED).in_region(prefix)
    if start:
        qs = qs.filter(published_at__gte=start)
    if end:
        qs = qs.filter(published_at__lt=end)
    return qs


def shared_records(prefix, start, end):
    """Everything workers shared in the period, published or not."""
    qs = Story.objects.in_region(prefix)
    if start:
        qs = qs.filter(created_at__gte=start)
    if end:
        qs = qs.filter(created_at__lt=end)
    return qs


register_stat("voice.stories_published", label=_("公开的心里话"),
              compute=lambda p, s, e: published_records(p, s, e).count(),
              records=published_records)
register_stat("voice.stories_shared", label=_("收到的心里话"),
              compute=lambda p, s, e: shared_records(p, s, e).count(), records=shared_records)

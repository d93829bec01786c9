"""Public accountability pages: no login, no personal data (see accountability.py)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from nuanxin.accounts.selectors import region_path
from nuanxin.alliance.accountability import region_accountability, street_communities
from nuanxin.geo.models import Region, RegionLevel


def _region(code: str, level: str) -> Region:
    region = (Region.objects.filter(code=code, level=level)
              .select_related("parent__parent__parent").first())
    if region is None:
        raise Http404(code)
    return region


@require_GET
def community_page(request, code: str):
    region = _region(code, RegionLevel.COMMUNITY)
    context = region_accountability(region)
    context.update({"path": region_path(region), "street": region.parent, "level": "community"})
    return render(request, "alliance/public/region.html", context)


@require_GET
def street_page(request, code: str):
    region = _region(code, RegionLevel.STREET)
    context = region_accountability(region)
    context.update({"path": region_path(region), "communities": street_communities(region),
                    "level": "street"})
    return render(request, "alliance/public/region.html", context)

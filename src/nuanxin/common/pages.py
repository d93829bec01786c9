from django.shortcuts import render
from django.views.decorators.http import require_GET

from nuanxin.common.manifest import tile_links


@require_GET
def services(request):
    """服务: every rider page the installed apps offer, as tiles (see common/manifest.py)."""
    return render(request, "shell/services.html", {"tiles": tile_links(request)})

"""The map settings every page hands to static/nuanxin/mapkit.js."""

from django.conf import settings
from django.urls import reverse

from nuanxin.geo.datum import tile_crs


def site(request):
    return {
        # Read by static/nuanxin/mapkit.js through json_script: never pasted into code.
        # The outlines follow the markers' datum (geo.datum.tile_crs).
        "map_config": {
            "tiles": settings.NUANXIN_TILE_URL,
            "crs": str(tile_crs()),
            "outlines": reverse("api:outlines"),
        },
    }

from django.conf import settings
from django.urls import reverse

# The datums geo.datum converts to; markers fall back to WGS-84 for any other setting
# (stations.views.request_tile_crs), and the outlines must follow the markers.
_MAP_DATUMS = ("wgs84", "gcj02", "bd09")


def site(request):
    crs = settings.NUANXIN_TILE_CRS if settings.NUANXIN_TILE_CRS in _MAP_DATUMS else "wgs84"
    return {
        # Read by static/nuanxin/mapkit.js through json_script: never pasted into code.
        "map_config": {
            "tiles": settings.NUANXIN_TILE_URL,
            "crs": crs,
            "outlines": reverse("api:outlines"),
        },
    }

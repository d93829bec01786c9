from django.conf import settings


def site(request):
    return {
        "tile_url": settings.NUANXIN_TILE_URL,
        "tile_crs": settings.NUANXIN_TILE_CRS,
    }

from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.http import JsonResponse
from django.urls import include, path

from nuanxin.api import api
from nuanxin.common.manifest import url_patterns
from nuanxin.common.views import media


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    # Every app's pages, as its manifest declares them (the site root's last).
    *url_patterns(),
]

if settings.SERVE_MEDIA:
    urlpatterns.insert(0, path("media/<path:path>", media, name="media"))

handler404 = "nuanxin.common.views.not_found"
handler500 = "nuanxin.common.views.server_error"
handler403 = "nuanxin.common.views.forbidden"
handler400 = "nuanxin.common.views.bad_request"

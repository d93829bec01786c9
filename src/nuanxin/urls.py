from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.http import JsonResponse
from django.urls import include, path

from nuanxin.api import api
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
    path("accounts/", include("nuanxin.accounts.urls")),
    path("console/needs/", include("nuanxin.needs.console_urls")),
    path("needs/", include("nuanxin.needs.urls")),
    path("console/alliance/", include("nuanxin.alliance.console_urls")),
    path("console/voice/", include("nuanxin.voice.console_urls")),
    path("partner/", include("nuanxin.alliance.partner_urls")),
    path("voice/", include("nuanxin.voice.urls")),
    path("services/", include("nuanxin.common.urls")),
    path("console/surveys/", include("nuanxin.surveys.console_urls")),
    path("console/energy/", include("nuanxin.energy.console_urls")),
    path("console/", include("nuanxin.stations.console_urls")),
    path("surveys/", include("nuanxin.surveys.urls")),
    path("energy/", include("nuanxin.energy.urls")),
    path("", include("nuanxin.alliance.public_urls")),
    path("", include("nuanxin.stations.urls")),
]

if settings.SERVE_MEDIA:
    urlpatterns.insert(0, path("media/<path:path>", media, name="media"))

handler404 = "nuanxin.common.views.not_found"
handler500 = "nuanxin.common.views.server_error"
handler403 = "nuanxin.common.views.forbidden"
handler400 = "nuanxin.common.views.bad_request"

from django.urls import path

from nuanxin.common import pages

app_name = "shell"

urlpatterns = [
    path("", pages.services, name="services"),
]

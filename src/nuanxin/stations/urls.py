from django.urls import path
from django.views.generic import TemplateView

app_name = "stations"

urlpatterns = [
    path("", TemplateView.as_view(template_name="base.html"), name="home"),
    path("c/<str:token>/", TemplateView.as_view(template_name="base.html"), name="checkin"),
]

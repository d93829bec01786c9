from django.urls import path

from nuanxin.alliance import partner_views as views

app_name = "partner"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("routings/<int:routing_id>/", views.routing_detail, name="routing"),
    path("resources/new/", views.resource_create, name="resource_create"),
    path("resources/<int:resource_id>/edit/", views.resource_edit, name="resource_edit"),
]

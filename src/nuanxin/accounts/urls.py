from django.contrib.auth.views import LogoutView
from django.urls import path
from django.views.generic import TemplateView

app_name = "accounts"

# Placeholder routes: replaced by the real login/profile views.
urlpatterns = [
    path("login/", TemplateView.as_view(template_name="base.html"), name="login"),
    path("staff/login/", TemplateView.as_view(template_name="base.html"), name="staff_login"),
    path("staff/totp/", TemplateView.as_view(template_name="base.html"), name="staff_totp"),
    path("me/", TemplateView.as_view(template_name="base.html"), name="profile"),
    path("logout/", LogoutView.as_view(), name="logout"),
]

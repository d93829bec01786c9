from django.urls import path

from nuanxin.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("privacy/", views.privacy_view, name="privacy"),
    path("staff/login/", views.staff_login_view, name="staff_login"),
    path("staff/totp/", views.staff_totp_view, name="staff_totp"),
    path("logout/", views.logout_view, name="logout"),
    path("me/", views.profile_view, name="profile"),
    path("inbox/", views.inbox_view, name="inbox"),
    path("me/data.json", views.export_view, name="export"),
    path("me/delete/", views.delete_view, name="delete"),
]

from django.urls import path

from nuanxin.energy import views

app_name = "energy"

urlpatterns = [
    path("", views.nearby, name="nearby"),
    path("cabinets/<str:serial>/", views.cabinet_detail, name="cabinet"),
    path("cabinets/<str:serial>/reserve/", views.cabinet_reserve, name="reserve"),
    path("c/<str:token>/", views.scan, name="scan"),
    path("swaps/<int:swap_id>/", views.swap_detail, name="swap"),
    path("swaps/<int:swap_id>/status/", views.swap_status, name="swap_status"),
    path("swaps/<int:swap_id>/cancel/", views.swap_cancel, name="swap_cancel"),
    path("me/", views.me, name="me"),
]

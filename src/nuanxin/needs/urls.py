from django.urls import path

from nuanxin.needs import views

app_name = "needs"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("new/", views.raise_need, name="new"),
    path("nearby/", views.nearby, name="nearby"),
    path("<int:need_id>/", views.detail, name="detail"),
    path("<int:need_id>/me-too/", views.me_too, name="me_too"),
    path("<int:need_id>/rate/", views.rate, name="rate"),
]

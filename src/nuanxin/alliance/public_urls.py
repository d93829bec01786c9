from django.urls import path

from nuanxin.alliance import public_views as views

app_name = "accountability"

urlpatterns = [
    path("communities/<str:code>/", views.community_page, name="community"),
    path("streets/<str:code>/", views.street_page, name="street"),
]

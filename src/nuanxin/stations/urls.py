from django.urls import path

from nuanxin.stations import views

app_name = "stations"

urlpatterns = [
    path("", views.home, name="home"),
    path("stations/<int:station_id>/", views.station_detail, name="detail"),
    path("c/<str:token>/", views.checkin, name="checkin"),
]

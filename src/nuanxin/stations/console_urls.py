from django.urls import path

from nuanxin.stations import console_views as views

app_name = "console"

urlpatterns = [
    path("", views.station_list, name="stations"),
    path("stations/new/", views.station_create, name="station_create"),
    path("stations/<int:station_id>/", views.station_detail, name="station_detail"),
    path("stations/<int:station_id>/edit/", views.station_edit, name="station_edit"),
    path("stations/<int:station_id>/hours/", views.station_hours, name="station_hours"),
    path("stations/<int:station_id>/exceptions/", views.station_exceptions,
         name="station_exceptions"),
    path("stations/<int:station_id>/exceptions/<int:exception_id>/delete/",
         views.station_exception_delete, name="station_exception_delete"),
    path("stations/<int:station_id>/photos/", views.station_photos, name="station_photos"),
    path("stations/<int:station_id>/photos/<int:photo_id>/delete/", views.station_photo_delete,
         name="station_photo_delete"),
    path("stations/<int:station_id>/qr/", views.station_qr, name="station_qr"),
    path("stations/<int:station_id>/qr.png", views.station_qr_png, name="station_qr_png"),
    path("stations/<int:station_id>/qr.svg", views.station_qr_svg, name="station_qr_svg"),
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("campaigns/<int:campaign_id>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:campaign_id>/edit/", views.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:campaign_id>/delete/", views.campaign_delete, name="campaign_delete"),
    path("campaigns/<int:campaign_id>/stations/<int:station_id>/remove/",
         views.campaign_remove_station, name="campaign_remove_station"),
    path("import/", views.import_page, name="import"),
    path("import/template.xlsx", views.import_template, name="import_template"),
    path("export.xlsx", views.export, name="export"),
]

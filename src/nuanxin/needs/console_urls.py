from django.urls import path

from nuanxin.needs import console_views as views

app_name = "needs_console"

urlpatterns = [
    path("", views.need_list, name="list"),
    path("new/", views.need_record, name="new"),
    path("export.xlsx", views.need_export, name="export"),
    path("merge/", views.need_merge, name="merge"),
    path("<int:need_id>/", views.need_detail, name="detail"),
    path("<int:need_id>/edit/", views.need_edit, name="edit"),
    path("<int:need_id>/<slug:action>/", views.need_action, name="action"),
]

from django.urls import path

from nuanxin.energy import console_views as views

app_name = "energy_console"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("login/", views.login_choice, name="login"),
    path("cabinets/<int:cabinet_id>/", views.cabinet_detail, name="cabinet"),
    path("cabinets/<int:cabinet_id>/unlock/", views.cabinet_unlock, name="cabinet_unlock"),
    path("cabinets/<int:cabinet_id>/slots/<int:slot_id>/unlock/", views.slot_unlock,
         name="slot_unlock"),
    path("cabinets/<int:cabinet_id>/qr/", views.cabinet_qr, name="cabinet_qr"),
    path("cabinets/<int:cabinet_id>/qr.png", views.cabinet_qr_png, name="cabinet_qr_png"),
    path("cabinets/<int:cabinet_id>/qr.svg", views.cabinet_qr_svg, name="cabinet_qr_svg"),
    path("alarms/", views.alarm_list, name="alarms"),
    path("alarms/<int:alarm_id>/", views.alarm_detail, name="alarm"),
    path("alarms/<int:alarm_id>/acknowledge/", views.alarm_acknowledge,
         name="alarm_acknowledge"),
    path("alarms/<int:alarm_id>/resolve/", views.alarm_resolve, name="alarm_resolve"),
    path("work-orders/", views.work_order_list, name="work_orders"),
    path("work-orders/<int:work_order_id>/", views.work_order_detail, name="work_order"),
    path("work-orders/<int:work_order_id>/complete/", views.work_order_complete,
         name="work_order_complete"),
    path("work-orders/<int:work_order_id>/cancel/", views.work_order_cancel,
         name="work_order_cancel"),
    path("swaps/", views.swap_list, name="swaps"),
    path("swaps/<int:swap_id>/", views.swap_detail, name="swap"),
    path("health/", views.fleet_health, name="health"),
    path("coverage/", views.coverage, name="coverage"),
]

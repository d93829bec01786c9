from django.urls import path

from nuanxin.alliance import console_views as views

app_name = "alliance_console"

urlpatterns = [
    path("", views.partner_list, name="partners"),
    path("partners/new/", views.partner_create, name="partner_create"),
    path("partners/<int:partner_id>/", views.partner_detail, name="partner_detail"),
    path("partners/<int:partner_id>/edit/", views.partner_edit, name="partner_edit"),
    path("partners/<int:partner_id>/agreements/new/", views.agreement_create,
         name="agreement_create"),
    path("partners/<int:partner_id>/members/new/", views.member_create, name="member_create"),
    path("agreements/<int:agreement_id>/end/", views.agreement_end, name="agreement_end"),
    path("resources/", views.resource_list, name="resources"),
    path("resources/new/", views.resource_create, name="resource_create"),
    path("resources/<int:resource_id>/", views.resource_detail, name="resource_detail"),
    path("resources/<int:resource_id>/edit/", views.resource_edit, name="resource_edit"),
    path("needs/<int:need_id>/match/", views.need_match, name="need_match"),
    path("needs/<int:need_id>/route/", views.need_route, name="need_route"),
    path("routings/", views.routing_list, name="routings"),
    path("routings/<int:routing_id>/", views.routing_detail, name="routing_detail"),
    path("projects/", views.project_list, name="projects"),
    path("projects/new/", views.project_create, name="project_create"),
    path("projects/<int:project_id>/", views.project_detail, name="project_detail"),
    path("projects/<int:project_id>/edit/", views.project_edit, name="project_edit"),
    path("projects/<int:project_id>/needs/add/", views.project_add_need,
         name="project_add_need"),
    path("projects/<int:project_id>/needs/<int:need_id>/remove/", views.project_remove_need,
         name="project_remove_need"),
    path("projects/<int:project_id>/resources/add/", views.project_allocate,
         name="project_allocate"),
    path("projects/<int:project_id>/resources/<int:resource_id>/remove/",
         views.project_release, name="project_release"),
    path("projects/<int:project_id>/milestones/add/", views.project_add_milestone,
         name="project_add_milestone"),
    path("projects/<int:project_id>/milestones/<int:milestone_id>/done/",
         views.milestone_done, name="milestone_done"),
    path("projects/<int:project_id>/start/", views.project_start, name="project_start"),
    path("projects/<int:project_id>/close/", views.project_close, name="project_close"),
    path("projects/<int:project_id>/cancel/", views.project_cancel, name="project_cancel"),
]

from django.urls import path

from nuanxin.surveys import console_views as views

app_name = "surveys_console"

urlpatterns = [
    path("", views.survey_list, name="list"),
    path("new/", views.survey_create, name="create"),
    path("<int:survey_id>/", views.survey_detail, name="detail"),
    path("<int:survey_id>/edit/", views.survey_edit, name="edit"),
    path("<int:survey_id>/preview/", views.survey_preview, name="preview"),
    *[path(f"<int:survey_id>/{action}/", views.survey_transition, {"action": action},
           name=action) for action in ("publish", "close", "reopen", "copy", "delete")],
    path("<int:survey_id>/questions/new/", views.question_edit, name="question_create"),
    path("<int:survey_id>/questions/<int:question_id>/", views.question_edit,
         name="question_edit"),
    *[path(f"<int:survey_id>/questions/<int:question_id>/{action}/", views.question_action,
           {"action": action}, name=f"question_{action}") for action in ("up", "down", "delete")],
    path("<int:survey_id>/qr/", views.survey_qr, name="qr"),
    path("<int:survey_id>/qr.png", views.survey_qr_png, name="qr_png"),
    path("<int:survey_id>/qr.svg", views.survey_qr_svg, name="qr_svg"),
    path("<int:survey_id>/results/", views.survey_results, name="results"),
    path("<int:survey_id>/results/texts/<int:question_id>/", views.survey_texts, name="texts"),
    path("<int:survey_id>/results.xlsx", views.survey_export, name="export"),
    path("<int:survey_id>/options/<int:option_id>/raise-need/", views.survey_raise_need,
         name="raise_need"),
    path("visits/", views.visit_home, name="visits"),
    path("visits/new/", views.visit_create, name="visit_create"),
    path("visits/<int:visit_id>/", views.visit_detail, name="visit_detail"),
    path("visits/<int:visit_id>/answers/<int:answer_id>/to-need/", views.visit_to_need,
         name="visit_to_need"),
    path("visits/<int:visit_id>/follow-ups/", views.visit_follow_up, name="visit_follow_up"),
    path("visits/follow-ups/<int:follow_up_id>/done/", views.follow_up_done,
         name="follow_up_done"),
    path("visits/plan/", views.visit_plan, name="plan"),
    path("visits/plan/quick/", views.plan_quick_add, name="plan_quick"),
    path("visits/plan/<int:plan_id>/remove/", views.plan_remove, name="plan_remove"),
    path("visits/coverage/", views.visit_coverage, name="coverage"),
]

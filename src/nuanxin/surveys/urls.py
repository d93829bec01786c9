from django.urls import path

from nuanxin.surveys import views

app_name = "surveys"

urlpatterns = [
    path("", views.survey_list, name="list"),
    path("a/<str:token>/", views.answer, name="answer"),
    path("a/<str:token>/done/", views.done, name="done"),
]

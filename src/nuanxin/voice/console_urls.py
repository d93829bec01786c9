from django.urls import path

from nuanxin.voice import console_views as views

app_name = "voice_console"

urlpatterns = [
    path("", views.story_list, name="list"),
    path("<int:story_id>/publish/", views.story_publish, name="publish"),
    path("<int:story_id>/hide/", views.story_hide, name="hide"),
]

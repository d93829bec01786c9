from django.urls import path

from nuanxin.voice import views

app_name = "voice"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("new/", views.new, name="new"),
    path("<int:story_id>/withdraw/", views.withdraw, name="withdraw"),
]

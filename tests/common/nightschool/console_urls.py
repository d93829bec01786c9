from django.http import HttpResponse
from django.urls import path

app_name = "nightschool_console"

urlpatterns = [path("", lambda request: HttpResponse("夜校管理"), name="home")]

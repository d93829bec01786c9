from django.http import HttpResponse
from django.urls import path

app_name = "nightschool"

urlpatterns = [path("", lambda request: HttpResponse("夜校课程表"), name="home")]

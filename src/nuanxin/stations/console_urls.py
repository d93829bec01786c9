from django.urls import path
from django.views.generic import TemplateView

app_name = "console"

# Placeholder routes: replaced by the real console views.
urlpatterns = [
    path("", TemplateView.as_view(template_name="console_base.html"), name="stations"),
    path("import/", TemplateView.as_view(template_name="console_base.html"), name="import"),
]

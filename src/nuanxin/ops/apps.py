from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "nuanxin.ops"
    label = "ops"
    verbose_name = "Operations"

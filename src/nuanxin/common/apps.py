from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "nuanxin.common"
    label = "common"

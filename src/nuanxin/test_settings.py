"""Settings for the test suite: the same as production but for speed and synchronous jobs."""

import os

from nuanxin.settings import *  # noqa: F403
from nuanxin.settings import HUEY

HUEY = {**HUEY, "immediate": True}
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Tests talk to the real Mosquitto on this machine unless told otherwise.
MQTT_URL = os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883")

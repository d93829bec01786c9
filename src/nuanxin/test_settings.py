"""Settings for the test suite: the same as production but for speed and synchronous jobs."""

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

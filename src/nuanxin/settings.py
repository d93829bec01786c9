"""Settings read from the environment; the defaults give the embedded demo (SQLite, one host)."""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("NUANXIN_VAR_DIR", Path.cwd() / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = os.environ.get("NUANXIN_DEBUG", "") == "1"
SECRET_KEY = os.environ.get("NUANXIN_SECRET_KEY", "")
if not SECRET_KEY:
    # The embedded default keeps a per-installation key under var/ so signed QR codes
    # stay valid across restarts without anyone having to configure a secret.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        import secrets

        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = os.environ.get("NUANXIN_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("NUANXIN_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
    "ninja",
    "nuanxin.common",
    "nuanxin.geo",
    "nuanxin.accounts",
    "nuanxin.stations",
    "nuanxin.needs",
    "nuanxin.alliance",
    "nuanxin.voice",
    "nuanxin.surveys",
    "nuanxin.energy",
    "nuanxin.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "nuanxin.common.middleware.RequestLimitsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "nuanxin.accounts.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "nuanxin.common.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "nuanxin.urls"
WSGI_APPLICATION = "nuanxin.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "nuanxin.geo.context.site",
                "nuanxin.accounts.context.inbox",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'nuanxin.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=600)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers work while one writer writes; IMMEDIATE takes the write lock at
        # BEGIN so two writers queue instead of failing half-way with "database is locked".
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "nuanxin",
        "url": REDIS_URL,
        "immediate": False,
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "nuanxin",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": os.environ.get("NUANXIN_HUEY_IMMEDIATE", "") == "1",
    }

# Battery-swap cabinets speak MQTT. `make run` starts an embedded broker on this address
# (port 18830, so it never collides with a Mosquitto on 1883); production and CI point it
# at Mosquitto with the shipped ACL (deploy/mosquitto/). User and password: the server's
# own account on the broker (blank: anonymous, as on a development Mosquitto).
MQTT_URL = os.environ.get("MQTT_URL", "mqtt://127.0.0.1:18830")
MQTT_USERNAME = os.environ.get("MQTT_USERNAME", "")
MQTT_PASSWORD = os.environ.get("MQTT_PASSWORD", "")
# Ingest processes share the subscription `$share/<group>/cab/+/up/#`.
MQTT_SHARE_GROUP = os.environ.get("MQTT_SHARE_GROUP", "nuanxin-ingest")
# No heartbeat for this long and a cabinet is marked offline.
ENERGY_OFFLINE_AFTER_S = int(os.environ.get("ENERGY_OFFLINE_AFTER_S", "90"))

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
WHITENOISE_USE_FINDERS = DEBUG

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30  # riders should not log in again every day
SESSION_COOKIE_SAMESITE = "Lax"


def _env_flag(name: str, default: bool) -> bool:
    return os.environ.get(name, "1" if default else "0").strip().lower() in {"1", "true", "yes"}


# HTTPS in production (deploy/production.env.example); off by default so that the demo on
# plain http://127.0.0.1 works. NUANXIN_HTTPS=1 turns every part on; each can be overridden.
HTTPS = _env_flag("NUANXIN_HTTPS", False)
SECURE_SSL_REDIRECT = _env_flag("NUANXIN_SSL_REDIRECT", HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the load balancer's probe may come over http
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _env_flag("NUANXIN_SECURE_COOKIES", HTTPS)
SECURE_HSTS_SECONDS = int(os.environ.get("NUANXIN_HSTS_SECONDS", 31_536_000 if HTTPS else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_flag("NUANXIN_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = _env_flag("NUANXIN_HSTS_PRELOAD", False)
# Behind nginx, which sets X-Forwarded-Proto itself (never pass a client's own through).
if _env_flag("NUANXIN_BEHIND_PROXY", HTTPS):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Uploaded files: served by nginx in production (deploy/nginx.conf.example); the demo has
# Django serve them, with the same safety headers (nuanxin.common.views.media).
SERVE_MEDIA = _env_flag("NUANXIN_SERVE_MEDIA", not HTTPS)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "nuanxin": {"handlers": ["console"], "level": "INFO"},
        "django.request": {"handlers": ["console"], "level": "ERROR"},
    },
}

# Pluggable SMS sender: a dotted path to a callable(phone, text). The default logs the code.
NUANXIN_SMS_SENDER = os.environ.get("NUANXIN_SMS_SENDER", "nuanxin.accounts.sms.log_sender")
# Map tiles: any XYZ template. Chinese tile services draw in GCJ-02, so markers are shifted.
NUANXIN_TILE_URL = os.environ.get(
    "NUANXIN_TILE_URL",
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
)
NUANXIN_TILE_CRS = os.environ.get("NUANXIN_TILE_CRS", "gcj02")
# Content-Security-Policy (nuanxin.common.csp): 1 = report violations only, do not block.
NUANXIN_CSP_REPORT_ONLY = os.environ.get("NUANXIN_CSP_REPORT_ONLY", "") == "1"
NUANXIN_PRIVACY_NOTICE_VERSION = "2026-11"

"""Wharf settings: everything that differs between machines comes from the environment."""

import ipaddress
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from portal.env import env_bool, env_int, env_list, env_str, parse_database_url

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
# Under pytest the dev-only fallbacks below are allowed, as with DEBUG.
TESTING = env_bool("WHARF_TESTING", "pytest" in sys.modules)

_DEV_SECRET_KEY = "wharf-development-only-key-never-use-in-production-0123456789abcdef"
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("http://", "https://")):
        raise ImproperlyConfigured(
            f"CSRF_TRUSTED_ORIGINS entries must start with http:// or https://; got {_origin!r}."
        )

# Fernet keys for secrets at rest: the first encrypts, all decrypt, so rotation is
# "put the new key first, re-encrypt, then drop the old one".
WHARF_ENCRYPTION_KEYS = env_list("WHARF_ENCRYPTION_KEYS")
for _key in WHARF_ENCRYPTION_KEYS:
    try:
        Fernet(_key)
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            "WHARF_ENCRYPTION_KEYS must be a comma-separated list of Fernet keys "
            "(32 url-safe base64-encoded bytes each)."
        ) from None
if not WHARF_ENCRYPTION_KEYS and not (DEBUG or TESTING):
    raise ImproperlyConfigured(
        "WHARF_ENCRYPTION_KEYS must be set when DEBUG is off "
        "(generate one with: python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())')."
    )

# Workspace admins may not point Wharf at internal addresses unless the operator says so.
WHARF_ALLOWED_REGISTRY_NETWORKS = env_list("WHARF_ALLOWED_REGISTRY_NETWORKS")
for _network in WHARF_ALLOWED_REGISTRY_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            "WHARF_ALLOWED_REGISTRY_NETWORKS entries must be networks like 10.0.0.0/8; "
            f"got {_network!r}."
        ) from None
WHARF_REGISTRY_TIMEOUT = env_int("WHARF_REGISTRY_TIMEOUT", 10)

# The token service: registries send clients to WHARF_PUBLIC_URL + "/auth/token" and accept
# tokens whose iss is WHARF_TOKEN_ISSUER. Docker clients treat tokens shorter than 60 s as
# 60 s long, and the design caps them at 5 minutes.
WHARF_PUBLIC_URL = env_str("WHARF_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
if not WHARF_PUBLIC_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(
        f"WHARF_PUBLIC_URL must start with http:// or https://; got {WHARF_PUBLIC_URL!r}.")
WHARF_TOKEN_ISSUER = env_str("WHARF_TOKEN_ISSUER", "wharf")
if not WHARF_TOKEN_ISSUER.strip():
    raise ImproperlyConfigured("WHARF_TOKEN_ISSUER must not be empty.")
WHARF_TOKEN_LIFETIME = env_int("WHARF_TOKEN_LIFETIME", 300)
if not 60 <= WHARF_TOKEN_LIFETIME <= 300:
    raise ImproperlyConfigured(
        f"WHARF_TOKEN_LIFETIME must be between 60 and 300 seconds; got {WHARF_TOKEN_LIFETIME}.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "django_tasks_db",
    "portal",
    "workspaces",
    "registries",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": parse_database_url(env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'wharf.sqlite3'}"))
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Every asset is served by Wharf, so the policy can be strict: no inline code without a nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not (DEBUG or TESTING):
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes DRF answer anonymous requests 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: the browsable API's inline script does not run under our strict CSP.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {"TITLE": "Wharf API", "VERSION": "1"}

# Background work: the immediate backend runs tasks in-process (tests, `make run`);
# production runs `manage.py db_worker` against the same database.
TASKS = {
    "default": {
        "BACKEND": env_str("WHARF_TASKS_BACKEND", "django.tasks.backends.immediate.ImmediateBackend")
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}

if TESTING:
    # Hashing every persona's password with the production hasher makes tests slow.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# -- Running in production: probes, metrics, logs ----------------------------------------------
# Probes and scrapes are answered first (portal/health.py says why); every routed request is
# timed for /metrics.
MIDDLEWARE = ["portal.health.ProbeMiddleware", "portal.metrics.RequestMetricsMiddleware", *MIDDLEWARE]

# /metrics answers only `Authorization: Bearer <this>`; unset, /metrics is 404.
WHARF_METRICS_TOKEN = env_str("WHARF_METRICS_TOKEN")
if WHARF_METRICS_TOKEN and len(WHARF_METRICS_TOKEN) < 20:
    raise ImproperlyConfigured("WHARF_METRICS_TOKEN must be at least 20 characters long.")

# WHARF_LOG_FORMAT=json: one JSON object a line, with the request id audit events carry.
WHARF_LOG_FORMAT = env_str("WHARF_LOG_FORMAT", "plain")
if WHARF_LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"WHARF_LOG_FORMAT must be plain or json; got {WHARF_LOG_FORMAT!r}.")
LOGGING["filters"] = {"request_id": {"()": "portal.logs.RequestIdFilter"}}
LOGGING["formatters"]["json"] = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
}
LOGGING["handlers"]["console"].update(formatter=WHARF_LOG_FORMAT, filters=["request_id"])

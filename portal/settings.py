"""Wharf settings: everything that differs between machines comes from the environment."""

import sys
from datetime import timedelta
from pathlib import Path

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from portal.env import (
    env_bool,
    env_int,
    env_list,
    env_networks,
    env_str,
    parse_database_url,
    parse_proxy_ssl_header,
)

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
WHARF_ALLOWED_REGISTRY_NETWORKS = env_networks("WHARF_ALLOWED_REGISTRY_NETWORKS")
WHARF_REGISTRY_TIMEOUT = env_int("WHARF_REGISTRY_TIMEOUT", 10)
# One limit for everything a request does at a registry (all calls, redirects, token fetches):
# a slow registry must not hold a web worker. Sync and other background work have none.
WHARF_REGISTRY_DEADLINE = env_int("WHARF_REGISTRY_DEADLINE", 15)
# How long an image's layers, read from its registry, are kept in Django's cache. Digests are
# immutable, so this only bounds the cache's size, never how fresh the answer is.
WHARF_LAYER_CACHE_SECONDS = env_int("WHARF_LAYER_CACHE_SECONDS", 24 * 3600)
if WHARF_REGISTRY_TIMEOUT < 1 or WHARF_REGISTRY_DEADLINE < 1:
    raise ImproperlyConfigured(
        "WHARF_REGISTRY_TIMEOUT and WHARF_REGISTRY_DEADLINE must be at least 1 second."
    )

# Proxies whose X-Forwarded-For (the client's address, for lockouts) and X-Request-ID (the
# audit log's request id) are believed; from anyone else both headers are ignored.
WHARF_TRUSTED_PROXIES = env_networks("WHARF_TRUSTED_PROXIES")

# Lockout after repeated failed logins (django-axes; portal/lockout.py): on the login page, the
# API (Basic and tokens) and the token service, counted per what WHARF_LOGIN_LOCKOUT_PARAMETERS
# names. Each entry is one counter: "username+ip_address" counts a username's failures from
# one address, "ip_address" all failures from an address; a client is locked out when any
# counter reaches the limit.
WHARF_LOGIN_FAILURE_LIMIT = env_int("WHARF_LOGIN_FAILURE_LIMIT", 5)
if WHARF_LOGIN_FAILURE_LIMIT < 1:
    raise ImproperlyConfigured(
        f"WHARF_LOGIN_FAILURE_LIMIT must be at least 1; got {WHARF_LOGIN_FAILURE_LIMIT}."
    )
# Seconds from the last counted failure until the lockout ends; 0 locks out until an Admin
# runs manage.py axes_reset.
WHARF_LOGIN_COOLOFF = env_int("WHARF_LOGIN_COOLOFF", 900)
if WHARF_LOGIN_COOLOFF < 0:
    raise ImproperlyConfigured(f"WHARF_LOGIN_COOLOFF must not be negative; got {WHARF_LOGIN_COOLOFF}.")
_LOCKOUT_FIELDS = {"username", "ip_address"}
WHARF_LOGIN_LOCKOUT_PARAMETERS = env_list("WHARF_LOGIN_LOCKOUT_PARAMETERS", ["username+ip_address"])
if not WHARF_LOGIN_LOCKOUT_PARAMETERS or any(
    not set(entry.split("+")) <= _LOCKOUT_FIELDS or "" in entry.split("+")
    for entry in WHARF_LOGIN_LOCKOUT_PARAMETERS
):
    raise ImproperlyConfigured(
        "WHARF_LOGIN_LOCKOUT_PARAMETERS must be a comma-separated list of username, ip_address "
        f"or username+ip_address; got {','.join(WHARF_LOGIN_LOCKOUT_PARAMETERS)!r}."
    )

# The token service: registries send clients to WHARF_PUBLIC_URL + "/auth/token" and accept
# tokens whose iss is WHARF_TOKEN_ISSUER. Docker clients treat tokens shorter than 60 s as
# 60 s long, and the design caps them at 5 minutes.
WHARF_PUBLIC_URL = env_str("WHARF_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
if not WHARF_PUBLIC_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(
        f"WHARF_PUBLIC_URL must start with http:// or https://; got {WHARF_PUBLIC_URL!r}."
    )
WHARF_TOKEN_ISSUER = env_str("WHARF_TOKEN_ISSUER", "wharf")
if not WHARF_TOKEN_ISSUER.strip():
    raise ImproperlyConfigured("WHARF_TOKEN_ISSUER must not be empty.")
WHARF_TOKEN_LIFETIME = env_int("WHARF_TOKEN_LIFETIME", 300)
if not 60 <= WHARF_TOKEN_LIFETIME <= 300:
    raise ImproperlyConfigured(
        f"WHARF_TOKEN_LIFETIME must be between 60 and 300 seconds; got {WHARF_TOKEN_LIFETIME}."
    )

# Workspace pull credentials: after a rotation the previous secret keeps working this many
# seconds (0: not at all), so namespaces can fetch the new one before the old one stops. A
# member leaving a workspace rotates its credentials unless WHARF_ROTATE_ON_MEMBER_LEAVE is off.
WHARF_CREDENTIAL_OVERLAP = env_int("WHARF_CREDENTIAL_OVERLAP", 3600)
if not 0 <= WHARF_CREDENTIAL_OVERLAP <= 7 * 24 * 3600:
    raise ImproperlyConfigured(
        "WHARF_CREDENTIAL_OVERLAP must be between 0 and 604800 seconds (7 days); "
        f"got {WHARF_CREDENTIAL_OVERLAP}."
    )
WHARF_ROTATE_ON_MEMBER_LEAVE = env_bool("WHARF_ROTATE_ON_MEMBER_LEAVE", True)

# The longest a "Generate login command" credential lives; a longer request is capped to it.
WHARF_LOGIN_COMMAND_MAX_LIFETIME = env_int("WHARF_LOGIN_COMMAND_MAX_LIFETIME", 3600)
if not 60 <= WHARF_LOGIN_COMMAND_MAX_LIFETIME <= 24 * 3600:
    raise ImproperlyConfigured(
        "WHARF_LOGIN_COMMAND_MAX_LIFETIME must be between 60 and 86400 seconds (1 day); "
        f"got {WHARF_LOGIN_COMMAND_MAX_LIFETIME}."
    )

INSTALLED_APPS = [
    "portal.apps.WharfAdminConfig",  # django.contrib.admin with Wharf's site (portal/admin_site.py)
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
    "axes",
    "portal",
    "workspaces",
    "registries",
    "access_requests",
]

MIDDLEWARE = [
    # Probes and scrapes are answered first (portal/health.py says why); every routed request
    # is timed for /metrics.
    "portal.health.ProbeMiddleware",
    "portal.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.KnownMethodsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.middleware.RequestIdMiddleware",
    "portal.middleware.SingleQueryParametersMiddleware",
    "portal.middleware.DatabaseUnavailableMiddleware",
    # The token service answers here: what follows does nothing for a registry's client.
    "registries.middleware.TokenServiceMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A signed-in person's own language wins over the browser's (portal/languages.py).
    "portal.languages.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.middleware.HtmxLoginRedirectMiddleware",
    # Last, as django-axes asks: it answers the request whose failed login started a lockout.
    "axes.middleware.AxesMiddleware",
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
            # {% url %} remembers what it reversed (portal/urlmakers.py cached_reverse).
            "builtins": ["portal.templatetags.cached_url"],
        },
    },
    {
        # The longest tables' rows (registries/rows.py, portal/jinja_env.py).
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "NAME": "jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "portal.jinja_env.environment"},
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
# AUTHENTICATION_BACKENDS: in the single sign-on block below (the lockout's backend first).
AXES_FAILURE_LIMIT = WHARF_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(seconds=WHARF_LOGIN_COOLOFF) if WHARF_LOGIN_COOLOFF else None
AXES_LOCKOUT_PARAMETERS = [
    entry.split("+") if "+" in entry else entry for entry in WHARF_LOGIN_LOCKOUT_PARAMETERS
]
# Failures are rows in the database, shared by every worker. Valid credentials write nothing
# (no reset, no access log), so at the token service they cost one read and no write.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_RESET_ON_SUCCESS = False
AXES_DISABLE_ACCESS_LOG = True
# Attempts refused during a lockout are not counted: the cool-off runs from the last real
# failure, and a refused attempt writes nothing.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "portal.proxies.client_address"
AXES_LOCKOUT_CALLABLE = "portal.views.lockout_response"
# Axes keeps a failed request's query and form data; never the secrets Wharf's forms carry.
AXES_SENSITIVE_PARAMETERS = [
    "username",
    "ip_address",
    "password",
    "password_encrypted",
    "secret",
    "token",
    "ca_bundle_key",
    "csrfmiddlewaretoken",
]
# Lockouts are read in Wharf's audit log and lifted with manage.py axes_reset*, not in admin.
AXES_ENABLE_ADMIN = False

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
# includeSubDomains and preload bind every host of the domain, and a preload list entry takes
# months to undo: the operator opts in, knowing what else lives under the domain.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Leaving them off is a decision documented in the README, not an oversight for
# `check --deploy` to warn about.
SILENCED_SYSTEM_CHECKS = [
    *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
]
# "Header-Name=value" that a TLS-terminating proxy sets on https requests, e.g.
# X-Forwarded-Proto=https. Trusted only when set: without a proxy that overwrites the header,
# any client could claim https.
SECURE_PROXY_SSL_HEADER = parse_proxy_ssl_header(env_str("SECURE_PROXY_SSL_HEADER"))

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes DRF answer anonymous requests 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "portal.api.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: the browsable API's inline script does not run under our strict CSP.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bodies with a nesting limit (a deep body is a 400, not a RecursionError).
    "DEFAULT_PARSER_CLASSES": [
        "portal.api.parsers.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["portal.api.filters.StrictFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.StrictPageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Wharf API",
    "VERSION": "1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.api.schema.document_errors",
    ],
    # Registries, scans and access requests each have a "status", with other choices: each its
    # own name (a registry's stays StatusEnum, as before).
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "registries.models.Registry.Status",
        "ScanStatusEnum": "registries.api.images.SCAN_STATES",
        "AccessRequestStatusEnum": "access_requests.models.AccessRequest.Status",
    },
}

# Background work: the immediate backend runs tasks in-process (tests, `make run`);
# production runs `manage.py db_worker` against the same database.
TASKS = {
    "default": {"BACKEND": env_str("WHARF_TASKS_BACKEND", "django.tasks.backends.immediate.ImmediateBackend")}
}
# django-tasks-db has no lease: a task RUNNING for longer than this belongs to a worker that
# died and is queued again (manage.py requeue_stale_tasks); a sync running this long is marked
# abandoned. It must exceed the longest sync, or a live one would be run twice.
WHARF_TASK_STALE_AFTER = env_int("WHARF_TASK_STALE_AFTER", 1800)
if WHARF_TASK_STALE_AFTER < 60:
    raise ImproperlyConfigured(
        f"WHARF_TASK_STALE_AFTER must be at least 60 seconds; got {WHARF_TASK_STALE_AFTER}."
    )

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

# --- OpenID Connect single sign-on (the sso app) ---------------------------------------------
# Unset WHARF_OIDC_ISSUER: local accounts only, exactly as without this block.
from sso import conf as _sso_conf  # noqa: E402 - pure helpers, no models

WHARF_OIDC_ISSUER = env_str("WHARF_OIDC_ISSUER").strip()
WHARF_OIDC_CLIENT_ID = env_str("WHARF_OIDC_CLIENT_ID").strip()
WHARF_OIDC_CLIENT_SECRET = env_str("WHARF_OIDC_CLIENT_SECRET")
WHARF_OIDC_SCOPES = " ".join(env_str("WHARF_OIDC_SCOPES", "openid profile email groups").split())
WHARF_OIDC_GROUPS_CLAIM = env_str("WHARF_OIDC_GROUPS_CLAIM", "groups").strip()
WHARF_OIDC_ADMIN_GROUP = env_str("WHARF_OIDC_ADMIN_GROUP").strip()
WHARF_OIDC_WORKSPACE_GROUP_PATTERN = env_str("WHARF_OIDC_WORKSPACE_GROUP_PATTERN", "wharf:{workspace}:{role}")
WHARF_OIDC_PROVIDER_NAME = env_str("WHARF_OIDC_PROVIDER_NAME", "single sign-on").strip() or "single sign-on"
# The `aud` the REST API demands of the provider's access tokens.
WHARF_OIDC_API_AUDIENCE = env_str("WHARF_OIDC_API_AUDIENCE").strip() or WHARF_OIDC_CLIENT_ID
WHARF_LOCAL_LOGIN = env_bool("WHARF_LOCAL_LOGIN", True)

if WHARF_OIDC_ISSUER:
    try:
        _sso_conf.check_issuer(WHARF_OIDC_ISSUER)
    except ValueError as _error:
        raise ImproperlyConfigured(f"WHARF_OIDC_ISSUER: {_error}.") from None
    for _name in ("WHARF_OIDC_CLIENT_ID", "WHARF_OIDC_CLIENT_SECRET"):
        if not globals()[_name]:
            raise ImproperlyConfigured(f"{_name} must be set when WHARF_OIDC_ISSUER is set.")
    if "openid" not in WHARF_OIDC_SCOPES.split():
        raise ImproperlyConfigured(f"WHARF_OIDC_SCOPES must include openid; got {WHARF_OIDC_SCOPES!r}.")
    if not WHARF_OIDC_GROUPS_CLAIM:
        raise ImproperlyConfigured("WHARF_OIDC_GROUPS_CLAIM must not be empty.")
    try:
        _sso_conf.workspace_group_regex(WHARF_OIDC_WORKSPACE_GROUP_PATTERN)
    except ValueError as _error:
        raise ImproperlyConfigured(f"WHARF_OIDC_WORKSPACE_GROUP_PATTERN: {_error}.") from None
    # Logging out posts a form whose answer redirects to the provider's end_session_endpoint;
    # browsers hold that redirect to the form-action directive.
    SECURE_CSP["form-action"] = [*SECURE_CSP["form-action"], _sso_conf.origin(WHARF_OIDC_ISSUER)]
elif not WHARF_LOCAL_LOGIN:
    raise ImproperlyConfigured("WHARF_LOCAL_LOGIN can be turned off only when WHARF_OIDC_ISSUER is set.")

INSTALLED_APPS += ["sso"]
# Local passwords (only superusers when WHARF_LOCAL_LOGIN is off), then the provider.
# The lockout backend stays first so a locked-out client costs no password hash.
AUTHENTICATION_BACKENDS = [
    "portal.lockout.LockoutBackend",
    "sso.backends.LocalLoginBackend",
    "sso.backends.OIDCBackend",
]
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] += ["sso.api.BearerAuthentication"]
TEMPLATES[0]["OPTIONS"]["context_processors"] += ["sso.context_processors.sign_in"]

# -- Running in production: probes, metrics, logs ----------------------------------------------

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

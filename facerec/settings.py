"""FaceRec settings, read from the environment (12-factor).

DATABASE_URL unset means SQLite in DATA_DIR; postgres://... PostgreSQL; mongodb://... MongoDB.
DEBUG is off unless asked; without DEBUG a SECRET_KEY is mandatory.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from attendance import conf as attendance_conf
from audit import conf as audit_conf
from core import conf as core_conf
from entries import conf as entries_conf
from jobs import conf as jobs_conf

from . import databases

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; real environment wins

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=1 for local development).")
    SECRET_KEY = "insecure-development-key-never-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "data")))

LOCAL_APPS = ["entries", "audit", "attendance", "jobs"]
INSTALLED_APPS = [
    "hr.apps.FaceRecAdminConfig",  # django.contrib.admin with FaceRec's site (hr.sites): name, dashboard, sections
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from here: no CDN, works offline
    "axes",
    "django_tasks",
    "django_tasks_db",  # the embedded default queue, in this database
    *LOCAL_APPS,
    "hr",  # the admin's front door (dashboard, roles); no models
]

# Long work (re-embedding, imports, the purges) runs as jobs on Django's tasks framework (docs/jobs.md).
# database: the queue lives in this database, `manage.py worker` processes run it (make run/serve start one);
# rq: RQ on Redis at REDIS_URL, for workers on several hosts; immediate: inside the request (no worker).
TASKS_BACKEND = env.str("FACEREC_TASKS_BACKEND", default="database")
TASKS_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "rq": "django_tasks_rq.RQBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
if TASKS_BACKEND not in TASKS_BACKENDS:
    raise ImproperlyConfigured(f"FACEREC_TASKS_BACKEND is one of {', '.join(TASKS_BACKENDS)}, not {TASKS_BACKEND!r}.")
TASKS = {"default": {"BACKEND": TASKS_BACKENDS[TASKS_BACKEND]}}
if TASKS_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    RQ_QUEUES = {"default": {"URL": env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")}}
JOBS: dict[str, Any] = jobs_conf.app_settings.from_environ()  # JOBS_<NAME>; the defaults are in jobs/conf.py

MIDDLEWARE = [
    "core.middleware.RefuseLargeBodies",  # first: a body over the limit is refused before it is read
    "core.middleware.NeverCacheFaceData",  # API answers and admin pages: Cache-Control no-store
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.middleware.RequestContextMiddleware",  # who and from where, for audit events
    "axes.middleware.AxesMiddleware",  # last: locks out an address guessing passwords
]

# Password guessing (admin, browsable API login): after LOGIN_FAILURE_LIMIT wrong passwords for one user
# from one address, that pair is locked out for LOGIN_LOCKOUT_MINUTES; every failure is logged.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # its "AXES: BEGIN" banner opened every command's output; lockouts are still logged

# Throttling counts live in this cache: with several gunicorn workers point CACHE_URL at Redis
# (redis://…) so they share them; the default counts per worker.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

ROOT_URLCONF = "facerec.urls"
WSGI_APPLICATION = "facerec.wsgi.application"
ASGI_APPLICATION = "facerec.asgi.application"

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
            ],
        },
    },
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
CONN_MAX_AGE = env.int("CONN_MAX_AGE", default=60)
# SQLite, PostgreSQL or MongoDB: facerec/databases.py holds all that differs between them.
databases.configure(globals(), env.str("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'facerec.sqlite3'}"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Each app's conf.py holds its settings' defaults (core, entries and audit share FACEREC); here is only what
# the environment sets, as FACEREC_<NAME>, ATTENDANCE_<NAME> or JOBS_<NAME>.
FACEREC = {**core_conf.app_settings.from_environ(), **entries_conf.app_settings.from_environ(),
           **audit_conf.app_settings.from_environ()}
ATTENDANCE = attendance_conf.app_settings.from_environ()  # time and attendance kiosks

# Photos travel in request bodies (multipart or base64 JSON): allow the image
# limit plus base64's 4/3 overhead, and let the API answer 413 past it.
DATA_UPLOAD_MAX_MEMORY_SIZE = FACEREC.get("MAX_IMAGE_BYTES", core_conf.DEFAULTS["MAX_IMAGE_BYTES"]) * 4 // 3 + 64 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous API client gets 401 with WWW-Authenticate.
        "core.api.authentication.GuardedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.ModelPermissions"],
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle",
                                 "rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="30/min"),
        "user": env.str("THROTTLE_USER", default="1200/min"),
        "recognition": env.str("THROTTLE_RECOGNITION", default="240/min"),  # identify and verify, per user
        "kiosk": env.str("THROTTLE_KIOSK", default="300/min"),  # frames, per kiosk (about 120/min at 2 a second)
    },
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env.int("API_PAGE_SIZE", default=50),
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",  # documents the error answers too
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "FaceRec API",
    "DESCRIPTION": "Register employees' faces and manage face entries.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Content-Security-Policy (django-csp): scripts only from this server; styles may be inline (the admin's).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_CONTENT_TYPE_NOSNIFF = True
    # HTTPS only: redirect plain HTTP, and tell browsers never to try it (HSTS). Behind a proxy that
    # terminates TLS set BEHIND_TLS_PROXY=1; SECURE_SSL_REDIRECT=0 and SECURE_HSTS_SECONDS=0 turn them off.
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    # Preloading into browsers is a commitment only the domain's owner can make: off, and not warned about.
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
    if env.bool("BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

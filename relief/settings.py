"""Settings for relief, read from environment variables (see README: Configuration).

Defaults suit a developer's machine: DEBUG on, SQLite in the project folder.
With DEBUG off, SECRET_KEY and ALLOWED_HOSTS are required and the
transport-security settings are on, so `manage.py check --deploy` passes.
"""

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from relief.env import database_from_url, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-never-use-in-production-0123456789abcdef"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "relief.apps.ReliefAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "simple_history",
    "axes",
    "import_export",
    "django_tasks",
    "django_tasks_db",
    "relief",
    "recipients",
    "campaigns",
    "applications",
    "disbursements",
    "documents",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files, compressed and cached for ever under hashed names (DEBUG off).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Content-Security-Policy and Permissions-Policy headers on every page
    # (CONTENT_SECURITY_POLICY and PERMISSIONS_POLICY below).
    "csp.middleware.CSPMiddleware",
    "relief.middleware.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "relief.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "relief.middleware.IdleSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Axes last: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "relief.urls"
WSGI_APPLICATION = "relief.wsgi.application"

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
                "relief.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(env_str("DATABASE_URL", "sqlite:///db.sqlite3"), base_dir=BASE_DIR)
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Users, roles and login
AUTH_USER_MODEL = "relief.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "relief.auth.RoleBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login throttling: after LOGIN_FAILURE_LIMIT wrong passwords for one user name
# from one address, that pair is locked out for LOGIN_LOCKOUT_MINUTES.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Sessions end after SESSION_IDLE_MINUTES without a request, and when the browser closes.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 120, minimum=1) * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True

# Language: Simplified Chinese unless the user picks English.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
# With DEBUG off, collectstatic writes compressed copies under hashed names that
# WhiteNoise serves with a far-future expiry. With DEBUG on (development, and the
# test suite, which never runs collectstatic) the plain storage needs no manifest.
STORAGES = {
    # On disk; a file the disk had no room for is removed, not kept cut short.
    "default": {"BACKEND": "relief.storage.MediaStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# WhiteNoise reads DEBUG when the first request arrives, after the test runner
# has turned it off; pinned to the configured value, a DEBUG run finds files
# where they are instead of warning that STATIC_ROOT was never collected.
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_USE_FINDERS = DEBUG
# Uploads and generated files live on disk under MEDIA_ROOT, unless
# MEDIA_STORAGE=s3 puts them in an S3-compatible bucket (django-storages, from
# requirements-s3.txt: most offices run on isolated networks and never install it).
MEDIA_STORAGE = env_str("MEDIA_STORAGE", "disk")
if MEDIA_STORAGE == "s3":
    _bucket = env_str("AWS_STORAGE_BUCKET_NAME", "")
    if not _bucket:
        raise ImproperlyConfigured("AWS_STORAGE_BUCKET_NAME must be set when MEDIA_STORAGE=s3")
    try:
        import storages  # noqa: F401  (imported here only: disk offices do not install it)
    except ImportError:
        raise ImproperlyConfigured(
            "MEDIA_STORAGE=s3 needs django-storages and boto3: pip install -r requirements-s3.txt"
        ) from None
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _bucket,
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL", "") or None,
            "access_key": env_str("AWS_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY", "") or None,
            "region_name": env_str("AWS_S3_REGION_NAME", "") or None,
            "addressing_style": env_str("AWS_S3_ADDRESSING_STYLE", "") or None,
            # Objects are private (bucket policy), never overwritten by a later
            # upload of the same name, and only ever read through Django's views.
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
elif MEDIA_STORAGE != "disk":
    raise ImproperlyConfigured(f"MEDIA_STORAGE={MEDIA_STORAGE!r}: use disk or s3")
# Uploads above this size are refused before they are read into memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("UPLOAD_MAX_MB", 20, minimum=1) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
# Background jobs (relief/jobs.py). The database queue needs no extra server;
# its worker is `manage.py worker` (db_worker plus recovery; started by `make run`).
TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}
# Or Redis with RQ (requirements-rq.txt), for several worker machines:
# TASKS_BACKEND=django_tasks_rq.RQBackend and REDIS_URL; the same tasks run there.
RQ_BACKEND = "django_tasks_rq.RQBackend"
if TASKS["default"]["BACKEND"] == RQ_BACKEND:
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    TASKS["default"]["QUEUES"] = ["default"]
    RQ_QUEUES = {
        "default": {
            "URL": env_str("REDIS_URL", "redis://127.0.0.1:6379/0"),
            "DEFAULT_TIMEOUT": env_int("RQ_JOB_TIMEOUT", 3600, minimum=60),
        }
    }
# /health/ fails when a queued task has waited longer than this for a worker.
HEALTH_QUEUE_MAX_WAIT_SECONDS = env_int("HEALTH_QUEUE_MAX_WAIT_SECONDS", 600, minimum=1)

# What `manage.py prune` (daily, deploy/systemd/relief-prune.timer) deletes:
# finished background jobs and their files (ledgers and payment sheets with
# full ID numbers) after JOB_KEEP_DAYS, finished task-queue rows after
# TASK_RESULT_KEEP_DAYS, sign-in records (django-axes) after
# ACCESS_LOG_KEEP_DAYS; expired sessions always. The audit log is never pruned.
JOB_KEEP_DAYS = env_int("JOB_KEEP_DAYS", 30, minimum=1)
TASK_RESULT_KEEP_DAYS = env_int("TASK_RESULT_KEEP_DAYS", 7, minimum=1)
ACCESS_LOG_KEEP_DAYS = env_int("ACCESS_LOG_KEEP_DAYS", 180, minimum=1)
# Rosters, pages of names and ledgers above this many rows are done in the
# background with a progress bar; smaller ones while the user waits.
BACKGROUND_ROWS = env_int("BACKGROUND_ROWS", 2000, minimum=1)
# PDF layout costs ~8 ms a row: lists longer than this are laid out in the background.
BACKGROUND_PDF_ROWS = env_int("BACKGROUND_PDF_ROWS", 300, minimum=1)
# The largest roster one upload may hold (rows of the sheet, header included).
ROSTER_MAX_ROWS = env_int("ROSTER_MAX_ROWS", 100000, minimum=10)
# A job whose worker died (relief.jobs.recover): run again from the start up to
# this many times in all, then failed with its reason. A worker on another
# machine is presumed dead after this long without a sign of life; a running
# job gives one every JOB_HEARTBEAT_SECONDS.
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3, minimum=1)
JOB_STALE_SECONDS = env_int("JOB_STALE_SECONDS", 600, minimum=60)
JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 30, minimum=1)

# The office's Ed25519 keys that sign exported ledgers (`manage.py ledger_key`).
# Private keys live here, outside the database and the media files; back this
# directory up separately and readable by the application's account only.
LEDGER_KEY_DIR = Path(env_str("LEDGER_KEY_DIR", str(BASE_DIR / "var" / "keys")))
# Where `manage.py backup` writes its archives (docs/backup.md).
BACKUP_DIR = Path(env_str("BACKUP_DIR", str(BASE_DIR / "backups")))

# One scan or photo attached to an application; larger ones are refused with a message.
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_MB", 10, minimum=1) * 1024 * 1024

# Transport security: on whenever DEBUG is off. SECURE_SSL_REDIRECT=0 is for a
# proxy that already redirects; BEHIND_PROXY=1 trusts its X-Forwarded-Proto.
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
if env_bool("BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # The sign-in throttle and the sign-in audit see the client, not the proxy.
    AXES_CLIENT_IP_CALLABLE = "relief.auth.forwarded_ip"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp 4): the pages load only our own scripts,
# styles, fonts and images, and run no inline script or style and no eval, so
# injected markup cannot run. Behaviour lives in static/js, looks in
# static/css; tests/relief/test_security.py scans the templates for inline
# code. data: images are the signature pads' and downscaled photos' previews;
# blob: the photo decoder's fallback where createImageBitmap is missing
# (static/js/visit.js). PDF documents (WeasyPrint) are never served as HTML.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}
# Browser features no page uses are switched off for every page (and for
# anything injected into one). The receipt photo is taken through a file input
# with capture=, which opens the camera app, not getUserMedia: no camera here.
PERMISSIONS_POLICY = {"camera": [], "microphone": [], "geolocation": []}

# Demo accounts made by `manage.py seed_demo` share this password.
DEMO_PASSWORD = env_str("DEMO_PASSWORD", "relief-demo")

# Rows per page a list offers; the first is the default.
PAGE_SIZES = [25, 10, 50, 100]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
    # Refused and missing pages (403/404) are ordinary here: a clerk following an
    # old link. Log server errors only, unless asked for more.
    "loggers": {"django.request": {"level": env_str("REQUEST_LOG_LEVEL", "ERROR")}},
}

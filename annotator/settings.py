"""Settings for both modes.

Embedded (the default): SQLite and media under var/, Channels' in-memory layer and a Celery
worker inside the serving process; no variable is needed.
Production (ANNOTATOR_MODE=production): PostgreSQL from DATABASE_URL, Redis from REDIS_URL
for Channels and Celery, and a SECRET_KEY that must be set.
"""

import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from annotator.env import (
    env_bool,
    env_int,
    env_list,
    env_path,
    env_paths,
    env_str,
    parse_database_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

MODE = env_str("ANNOTATOR_MODE", "embedded")
if MODE not in {"embedded", "production"}:
    raise ImproperlyConfigured(f"ANNOTATOR_MODE must be 'embedded' or 'production', got {MODE!r}")
PRODUCTION = MODE == "production"

VAR_DIR = env_path("ANNOTATOR_VAR_DIR", BASE_DIR / "var")


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if PRODUCTION:
        if len(key) < 50 or len(set(key)) < 5 or key.startswith(("change-me", "django-insecure")):
            raise ImproperlyConfigured(
                "SECRET_KEY must be set to a random string of at least 50 characters in "
                "production (python -c 'import secrets; print(secrets.token_urlsafe(50))')"
            )
        return key
    if key:
        return key
    # Embedded mode keeps a generated key on disk so sessions survive a restart.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", default=False)
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the host names the app is served on")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "projects",
    "inference",
]

MIDDLEWARE = [
    # First, so static files (WhiteNoise answers them itself) get COOP and COEP too.
    "annotator.isolation.CrossOriginIsolationMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "annotator.urls"
ASGI_APPLICATION = "annotator.asgi.application"

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

if PRODUCTION:
    _database_url = env_str("DATABASE_URL")
    if not _database_url:
        raise ImproperlyConfigured("DATABASE_URL is required in production (postgresql://…)")
    DATABASES = {"default": parse_database_url(_database_url).as_django()}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "OPTIONS": {
                # The in-process worker writes while requests read: WAL keeps readers
                # unblocked and IMMEDIATE avoids "database is locked" on lock upgrades.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "projects:list"
LOGOUT_REDIRECT_URL = "login"
# Failed sign-ins (login page, admin login, API token) within a window: past the first
# limit a username is refused, the right password too, until its window ends; past the
# second so is every sign-in from that client address. A success resets the username's
# count. Counted in the default cache, which production shares between processes (Redis).
ANNOTATOR_LOGIN_ATTEMPTS = max(1, env_int("ANNOTATOR_LOGIN_ATTEMPTS", 5))
ANNOTATOR_LOGIN_ADDRESS_ATTEMPTS = max(1, env_int("ANNOTATOR_LOGIN_ADDRESS_ATTEMPTS", 20))
ANNOTATOR_LOGIN_WINDOW_S = max(1, env_int("ANNOTATOR_LOGIN_WINDOW_S", 300))

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Embedded mode serves straight from the source folders, so no collectstatic is needed.
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Media is never served as public files: images, masks and arrays go through views that
# check access.
MEDIA_ROOT = env_path("ANNOTATOR_MEDIA_DIR", VAR_DIR / "media")
MEDIA_URL = "/media/"
ANNOTATOR_UPLOAD_DIR = env_path("ANNOTATOR_UPLOAD_DIR", MEDIA_ROOT / "uploads")
ANNOTATOR_MODEL_DIR = env_path("ANNOTATOR_MODEL_DIR", VAR_DIR / "models")
ANNOTATOR_CACHE_DIR = env_path("ANNOTATOR_CACHE_DIR", VAR_DIR / "cache")
ANNOTATOR_FOLDER_ROOTS = env_paths("ANNOTATOR_FOLDER_ROOTS")
ANNOTATOR_MAX_UPLOAD_MB = env_int("ANNOTATOR_MAX_UPLOAD_MB", 200)
# Largest request body of any kind (a multi-file upload, an archive); refused with 413
# before it is read.
ANNOTATOR_MAX_REQUEST_MB = env_int("ANNOTATOR_MAX_REQUEST_MB", 2048)
ANNOTATOR_MAX_IMAGE_PIXELS = env_int("ANNOTATOR_MAX_IMAGE_PIXELS", 178_956_970)
ANNOTATOR_EMBEDDING_CACHE_MB = env_int("ANNOTATOR_EMBEDDING_CACHE_MB", 2048)
# Image features on disk under MEDIA_ROOT/embeddings, shared by every worker (LRU; 0: off).
ANNOTATOR_EMBEDDING_STORE_GB = env_int("ANNOTATOR_EMBEDDING_STORE_GB", 20)
# Key for credentials stored at rest (Fernet, urlsafe base64 of 32 bytes); derived from
# SECRET_KEY when not set, so rotating SECRET_KEY then needs re-entering credentials.
ANNOTATOR_CREDENTIALS_KEY = env_str("ANNOTATOR_CREDENTIALS_KEY")
ANNOTATOR_ADMIN_USERNAME = env_str("ANNOTATOR_ADMIN_USERNAME", "admin")
ANNOTATOR_ADMIN_PASSWORD = env_str("ANNOTATOR_ADMIN_PASSWORD")
ANNOTATOR_ADMIN_EMAIL = env_str("ANNOTATOR_ADMIN_EMAIL", "admin@localhost")
ANNOTATOR_DEMO_PROJECT = env_bool("ANNOTATOR_DEMO_PROJECT", default=True)

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("ANNOTATOR_MAX_UPLOAD_FILES", 1000)

REDIS_URL = env_str("REDIS_URL")
if PRODUCTION and not REDIS_URL:
    raise ImproperlyConfigured("REDIS_URL is required in production (redis://host:6379/0)")

if REDIS_URL:
    from redis import asyncio as _redis_asyncio
    from redis import exceptions as _redis_errors
    from redis import retry as _redis_retry
    from redis.backoff import ExponentialBackoff

    def _redis_retries(retry_class) -> dict:
        """A pooled connection that Redis closed (it restarted, or dropped an idle client) is
        opened again and the command sent again, instead of failing the first command each
        process sends afterwards: an event, a click's answer or a presence update lost."""
        return {
            "retry": retry_class(
                ExponentialBackoff(cap=1.0, base=0.1), 3, (_redis_errors.ConnectionError,)
            ),
            "retry_on_error": [_redis_errors.ConnectionError],
        }

    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py's default read timeout (5 s) equals the layer's blocking-pop timeout,
            # so a busy host drops WebSockets with "Timeout reading": allow the pop its time.
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": 30,
                        **_redis_retries(_redis_asyncio.retry.Retry),
                    }
                ]
            },
        }
    }
    # Presence and short-lived coordination between processes (who has an image open).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": _redis_retries(_redis_retry.Retry),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# Model work runs where the model lives. Clicks have their own queue so that they never wait
# behind a pool automask job: production runs one worker for `interactive` and one for `gpu`.
CELERY_TASK_ROUTES = {
    "inference.tasks.prediction_task": {"queue": "interactive"},
    "inference.tasks.model_load_task": {"queue": "interactive"},
    "inference.tasks.embedding_prepare_task": {"queue": "interactive"},
    "inference.tasks.model_download_task": {"queue": "default"},
    "inference.tasks.automask_pool_task": {"queue": "gpu"},
    "inference.tasks.automask_chunk_task": {"queue": "gpu"},
    "inference.tasks.*": {"queue": "gpu"},
}
# The in-memory broker is polled: once a second by default, which a model load would feel.
CELERY_BROKER_TRANSPORT_OPTIONS = {} if REDIS_URL else {"polling_interval": 0.05}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
ANNOTATOR_EMBEDDED_WORKER = env_bool("ANNOTATOR_EMBEDDED_WORKER", default=not PRODUCTION)
ANNOTATOR_EMBEDDED_WORKER_THREADS = env_int("ANNOTATOR_EMBEDDED_WORKER_THREADS", 2)

# Inference: where checkpoints come from and live, and how much memory models may use.
# Official checkpoint URLs are <base>/<release>/<file>; set a mirror (or a local server).
ANNOTATOR_MODEL_BASE_URL = env_str("ANNOTATOR_MODEL_BASE_URL")
# Folders besides ANNOTATOR_MODEL_DIR from which a manual checkpoint path may be loaded.
ANNOTATOR_MODEL_ROOTS = env_paths("ANNOTATOR_MODEL_ROOTS")
ANNOTATOR_MAX_LOADED_MODELS = env_int("ANNOTATOR_MAX_LOADED_MODELS", 2)
ANNOTATOR_DOWNLOAD_TIMEOUT_S = env_int("ANNOTATOR_DOWNLOAD_TIMEOUT_S", 30)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so that an anonymous API call is answered 401 with a challenge.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "annotator.api_schema.ApiSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "annotator.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Annotator API",
    "DESCRIPTION": "Mask annotation with Segment Anything 2: projects, sources, images, records.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ImageStatusEnum": "projects.models.ImageStatus",
        "JobStatusEnum": "projects.models.Job.Status",
    },
}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Joining the browsers' preload list is a lasting commitment for the whole domain:
        # a deliberate choice (SECURE_HSTS_PRELOAD=true), not a default to be warned about.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Exports and the project archive ---------------------------------------------------------
# An uploaded archive larger than this is refused before it is opened; the unpacked limit
# and the member count guard against zip bombs.
ANNOTATOR_ARCHIVE_MAX_MB = env_int("ANNOTATOR_ARCHIVE_MAX_MB", 1024)
ANNOTATOR_ARCHIVE_MAX_UNPACKED_MB = env_int("ANNOTATOR_ARCHIVE_MAX_UNPACKED_MB", 1024)
# One JSON table of an archive; array members have their own, much smaller, bound by shape.
ANNOTATOR_ARCHIVE_MAX_MEMBER_MB = env_int("ANNOTATOR_ARCHIVE_MAX_MEMBER_MB", 256)
ANNOTATOR_ARCHIVE_MAX_MEMBERS = env_int("ANNOTATOR_ARCHIVE_MAX_MEMBERS", 500_000)
# An annotation file to import (COCO, YOLO-seg zip, mask PNG zip, seed JSON, Label Studio)
# larger than this is refused; a zip may unpack to four times as much.
ANNOTATOR_IMPORT_MAX_MB = env_int("ANNOTATOR_IMPORT_MAX_MB", 256)
# Export files are deleted this long after they were made (their jobs stay).
ANNOTATOR_EXPORT_KEEP_HOURS = env_int("ANNOTATOR_EXPORT_KEEP_HOURS", 24)
# How long an annotator holds an image nobody else is handed, renewed by their activity.
ANNOTATOR_CLAIM_MINUTES = max(1, env_int("ANNOTATOR_CLAIM_MINUTES", 10))

# Image sources: uploads, server folders, URLs and Azure Blob Storage.
# Bytes of remote images (URLs, Azure) are kept on disk up to this size, oldest dropped first.
ANNOTATOR_SOURCE_CACHE_MB = env_int("ANNOTATOR_SOURCE_CACHE_MB", 2048)
ANNOTATOR_THUMBNAIL_PX = env_int("ANNOTATOR_THUMBNAIL_PX", 256)
ANNOTATOR_IMAGE_EXTENSIONS = env_list(
    "ANNOTATOR_IMAGE_EXTENSIONS",
    default=[".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".gif"],
)
# URL sources refuse hosts on loopback, private, link-local and metadata addresses unless
# this is set (a server meant to read from its own network).
ANNOTATOR_URL_ALLOW_PRIVATE = env_bool("ANNOTATOR_URL_ALLOW_PRIVATE", default=False)
ANNOTATOR_URL_TIMEOUT_S = env_int("ANNOTATOR_URL_TIMEOUT_S", 20)
ANNOTATOR_URL_MAX_MB = env_int("ANNOTATOR_URL_MAX_MB", ANNOTATOR_MAX_UPLOAD_MB)
# Azure account URLs must be on an Azure Storage domain unless this is set (Azurite, Azure
# Stack or a private endpoint under its own name).
ANNOTATOR_AZURE_ALLOW_CUSTOM_ENDPOINTS = env_bool(
    "ANNOTATOR_AZURE_ALLOW_CUSTOM_ENDPOINTS", default=False
)
# DefaultAzureCredential probes managed identity and the CLI; give up after this long.
ANNOTATOR_AZURE_CREDENTIAL_TIMEOUT_S = env_int("ANNOTATOR_AZURE_CREDENTIAL_TIMEOUT_S", 15)

# Deployment: faults and timeouts -----------------------------------------------------------
# A task taken by a worker that then dies (acks are late) goes back to the Redis queue after
# this long; it must exceed the longest task, or a live worker's task would run twice.
ANNOTATOR_BROKER_VISIBILITY_TIMEOUT_S = env_int("ANNOTATOR_BROKER_VISIBILITY_TIMEOUT_S", 3600)
if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": ANNOTATOR_BROKER_VISIBILITY_TIMEOUT_S}
# A click not answered by a worker within this long is answered with an error, so that the
# editor never waits forever on a worker that died or a queue that is stuck.
ANNOTATOR_CLICK_TIMEOUT_S = env_int("ANNOTATOR_CLICK_TIMEOUT_S", 30)
# Click workers: with N > 1, clicks and embedding preparation of an image go to queue
# "interactive" (image id % N == 0) or "interactive-<image id % N>", each served by its own
# worker, so that an image's clicks always reach the worker holding its embedding.
ANNOTATOR_INTERACTIVE_WORKERS = max(1, env_int("ANNOTATOR_INTERACTIVE_WORKERS", 1))
# Load balancers and container health checks probe /healthz over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Pool automask over several GPU workers ---------------------------------------------------
# A pool job's images are queued in tasks of this many images, which every worker on the
# `gpu` queue takes its share of: small enough to share evenly, and what a killed worker's
# task does again; larger means fewer messages in the broker for a very large pool.
ANNOTATOR_AUTOMASK_CHUNK = max(1, env_int("ANNOTATOR_AUTOMASK_CHUNK", 2))

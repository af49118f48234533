"""Reclaim settings, read from the environment (see README, "Production variables").

With nothing configured, Reclaim runs on an embedded SQLite file, runs tasks in-process and keeps
media under ./var/media: a laptop needs no server. ``DATABASE_URL`` and ``CELERY_BROKER_URL``
switch to PostgreSQL and Redis.
"""

import ipaddress
import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

from config.env import env_bool, env_float, env_int, env_list, env_str, load_env_file

BASE_DIR = Path(__file__).resolve().parent.parent

# A local .env (written by `make run`) fills in what the real environment does not set.
# ENV_FILE= (empty) turns it off, e.g. to check production settings on a developer machine.
_env_file = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if _env_file and Path(_env_file).is_file():
    load_env_file(Path(_env_file))

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off. Generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`, "
            "or set DEBUG=1 for local development."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production-0123456789"

# Reference photos, face templates, media item files and consent authority documents are encrypted at
# rest (detection.encryption; README, "Encryption at rest"). FIELD_ENCRYPTION_KEYS=new,old during a
# rotation; FIELD_ENCRYPTION_KEY for one key; either may come from *_FILE. Without one, DEBUG derives a
# development key from SECRET_KEY.
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", []) or [
    key for key in [env_str("FIELD_ENCRYPTION_KEY")] if key
]
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY is required when DEBUG is off: it encrypts reference photos, face "
            "templates and media item files. Generate one with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'` "
            "and keep it apart from database and media backups."
        )
    import base64
    import hashlib

    FIELD_ENCRYPTION_KEYS = [base64.urlsafe_b64encode(hashlib.sha256(f"dev-field-key:{SECRET_KEY}".encode()).digest()).decode()]
try:
    from cryptography.fernet import Fernet

    for _key in FIELD_ENCRYPTION_KEYS:
        Fernet(_key)
except ValueError:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe base64-encoded bytes)."
    ) from None

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files: no CDN
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "casework",
    "detection",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves /static/ from STATIC_ROOT in the WSGI process (README, "Production"): no proxy rule to forget.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    # The language from the cookie set_language leaves, else the browser's Accept-Language (README,
    # "Languages"). Before the size limit so that its 413 page is in the reader's language: since
    # Django 4.0 it reads no session, so it need not follow SessionMiddleware; CommonMiddleware and
    # every view after it see the language already active.
    "django.middleware.locale.LocaleMiddleware",
    "config.middleware.RequestSizeLimitMiddleware",  # before anything reads a body (config.uploads)
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "casework.middleware.StaffTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: it turns a lockout into its response
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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

# --- Data -----------------------------------------------------------------------------------------
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded default must work on a fresh clone
    DATABASE_URL = f"sqlite:///{VAR_DIR / 'reclaim.sqlite3'}"
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL this app understands: {exc}") from None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Media is sensitive (reference photos, reported imagery): it is never served from a public URL,
# only through views that check who is asking.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
# Outside DEBUG, `collectstatic` writes compressed copies under content-hashed names, which WhiteNoise
# serves with a year's caching (a new release is a new name). Without collectstatic every page fails
# (the manifest is missing) rather than rendering without its stylesheet. With DEBUG, files are served
# straight from the apps' static folders and picked up as they change.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG
                    else "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Source maps (14 of the 25 MB collected, all from the API docs' bundles) are read only by developer tools:
# compressing them doubled collectstatic's time for nothing.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "map"]
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# --- People ---------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# django-axes checks every password login before the model backend does (lockout below).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# Lock a username from one address after this many failed passwords, for AXES_COOLOFF_TIME hours.
# Per username *and* address: a stranger guessing a caseworker's name cannot lock them out of work.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_HOURS", 1, minimum=1)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = 1 if env_bool("BEHIND_TLS_PROXY", False) else None
# django-ipware is not installed, so without this axes would see the proxy's address for everyone:
# lockouts and the public rate limits name the same address (casework.ratelimit.client_address).
AXES_CLIENT_IP_CALLABLE = "casework.ratelimit.client_address"
# Failures live in the database (axes' default, named here): every web worker sees the same lockout.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# Staff (anyone with a Membership) must confirm a TOTP device before any staff page
# (casework.two_factor). The issuer names this deployment in the authenticator app.
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Reclaim")
LOGIN_REDIRECT_URL = "casework:review_queue"
LOGOUT_REDIRECT_URL = "login"

# --- Languages (README, "Languages") -------------------------------------------------------------
# No language prefix in URLs (no i18n_patterns): links in e-mails, a written-down report address and
# the portal's sign-in links work whatever language the reader picked, and a shared link says nothing
# about its sender's language. The language comes from the browser (Accept-Language), then from the
# switcher on every page (Django's set_language, through casework.views.language), remembered in a
# cookie and, for a subject, on their record (Subject.language) for the e-mails sent to them.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Spanish"), ("de", "German")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
# The language cookie lives as long as the session cookie: it should not outlast every other trace of
# a visit on a shared phone, and a subject's choice is kept on their record beyond it.
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 14  # Django's SESSION_COOKIE_AGE, two weeks
LANGUAGE_COOKIE_HTTPONLY = True  # no script reads it: the server renders every text
LANGUAGE_COOKIE_SAMESITE = "Lax"
# Dates in each language's own order ("5 March 2025", "5 de marzo de 2025", "5. März 2025"): templates
# use |date:"DATE_FORMAT" and "DATETIME_FORMAT"; config/formats/en keeps English as it always read.
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_TZ = True

# --- Security (production values unless DEBUG) ---------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# A load balancer's health probe often speaks plain HTTP to the app behind the TLS proxy.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
# No inline script or style anywhere (config.middleware); images may be data: URLs (a drawn signature)
# and blob: URLs (a preview before upload); videos blob: URLs (a chosen video decoded on the device for
# its frame hashes, casework/static/casework/hashing/video_decode.js). Everything else comes from this origin.
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)

# --- E-mail ---------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "reclaim@localhost")

# --- Public reports and the subject portal -------------------------------------------------------
# The slug of the organisation that receives reports from the public form (casework.views.public).
# Empty: the form says it is not taking reports here, instead of filing them nowhere.
PUBLIC_REPORTS_ORGANIZATION = env_str("PUBLIC_REPORTS_ORGANIZATION", "")
# Wrong PINs allowed per report reference per hour before the status page stops checking: a PIN of
# eight digits then takes years to guess, and the person who owns it waits at most an hour.
PUBLIC_REPORT_PIN_ATTEMPTS = env_int("PUBLIC_REPORT_PIN_ATTEMPTS", 5, minimum=1)
# How long a subject's e-mail sign-in link works. Short, because whoever holds the link signs in.
PORTAL_LINK_MINUTES = env_int("PORTAL_LINK_MINUTES", 30, minimum=1)
# POSTs per address to each public form (report, report status and PIN, portal sign-in), counted in
# the shared cache before any work: each costs a password hash (~0.2 s of CPU) or an e-mail, so five
# report flows a second would otherwise fill two cores. A reporter needs two POSTs per report.
PUBLIC_POST_RATE = env_str("PUBLIC_POST_RATE", "10/minute")
if not (PUBLIC_POST_RATE.partition("/")[0].isdigit() and PUBLIC_POST_RATE.partition("/")[2][:1] in ("s", "m", "h")):
    raise ImproperlyConfigured(f"PUBLIC_POST_RATE: {PUBLIC_POST_RATE!r} is not a rate such as 10/minute")
# Behind a TLS proxy the client's address is the last X-Forwarded-For hop (the one the proxy added).
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)

# --- Background work ------------------------------------------------------------------------------
# No broker configured means tasks run in-process, right after the transaction that queued them
# commits (see detection.tasks): the laptop path needs no Redis.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "memory://"
CELERY_TASK_ALWAYS_EAGER = env_str("CELERY_BROKER_URL") is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
# Scans that are never lost (README, "Workers on Redis"). A pool child killed mid-task (SIGKILL, the
# OOM killer) is a lost worker: with acks_late, this puts its message back at once instead of
# acknowledging it, and the next scan resumes the item (detection.services.media_scan). A file that
# kills its worker every time is failed with a reason after SCAN_MAX_ATTEMPTS claims, not looped on.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# The hard limit of one scan (detection.tasks.scan_media); the soft limit before it fails the item with
# a reason ("took longer than the time limit"), the hard one stops a scan stuck in native code.
SCAN_TIME_LIMIT_S = env_int("SCAN_TIME_LIMIT_S", 360, minimum=10)
SCAN_SOFT_TIME_LIMIT_S = SCAN_TIME_LIMIT_S - max(5, SCAN_TIME_LIMIT_S // 6)
# Past the hard limit: a retry's countdown (scan_media caps it at 15 s) and the ack reaching Redis.
SCAN_GRACE_S = 30
# The broker's visibility timeout and SCAN_STUCK_AFTER_S are set below the fetch settings ("Detection"),
# since the longest acks_late task may be a URL fetch.
# A received item no worker has claimed after this long: its message may have been lost with the broker
# (a Redis restart without persistence). Long enough that a busy queue is not filled with duplicates.
SCAN_QUEUED_STALE_S = env_int("SCAN_QUEUED_STALE_MINUTES", 15, minimum=1) * 60
# Claims of one item before it is failed as "stopped before it finished": a file that kills its worker
# (memory) or passes the hard limit every time must end, with a reason a person reads.
SCAN_MAX_ATTEMPTS = env_int("SCAN_MAX_ATTEMPTS", 3, minimum=1)
SCAN_SWEEP_EVERY_S = env_int("SCAN_SWEEP_EVERY_S", 60, minimum=1)

# --- Shared cache ---------------------------------------------------------------------------------
# Every limit and lockout that lives in the cache (API throttles, public form rate limits) must be
# counted once for all web workers, never per process. CACHE_URL (redis://…) first; else a redis://
# CELERY_BROKER_URL, shared with the broker under KEY_PREFIX; else the database, in a table that
# migration casework 0008 creates (so `migrate` is all a deployment runs). Redis counts exactly under
# concurrent requests; the database's increment is a read then a write, so it may let a few through.
CACHE_URL = env_str("CACHE_URL") or ""
_broker = env_str("CELERY_BROKER_URL") or ""
if not CACHE_URL and _broker.startswith(("redis://", "rediss://")):
    CACHE_URL = _broker
CACHE_TABLE = "reclaim_cache"
if CACHE_URL:
    if not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"CACHE_URL={CACHE_URL!r} is not a Redis URL (redis://host:6379/1)")
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL,
                          "KEY_PREFIX": "reclaim"}}
else:
    # Culling at the default 300 rows would wipe live counters; a day's default expiry outlasts every
    # window (an increment here re-sets the expiry to this default).
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": CACHE_TABLE,
                          "TIMEOUT": 24 * 60 * 60, "OPTIONS": {"MAX_ENTRIES": 100_000}}}
# How often each takedown URL is revisited (casework.services.rechecks): hourly finds a removal within
# the hour, which is what a 48-hour TAKE IT DOWN clock needs, without hammering the platform.
RECHECK_EVERY_MINUTES = env_int("RECHECK_EVERY_MINUTES", 60, minimum=5)
# Started by `celery -A config beat` (README, "Workers on Redis"); exactly one beat per deployment.
CELERY_BEAT_SCHEDULE = {
    "deadlines-check": {
        "task": "casework.tasks.deadlines_check",
        "schedule": 15 * 60,  # seconds; the shortest clock (48 hours) is then flagged within 0.5% of it
        "options": {"expires": 14 * 60},  # a backlog of stale checks is worth nothing: the next one comes
    },
    "biometrics-retention-purge": {
        "task": "casework.tasks.biometrics_retention_purge",
        "schedule": crontab(hour=3, minute=30),  # daily, in CELERY_TIMEZONE, away from office hours
    },
    "takedown-rechecks": {
        "task": "casework.tasks.takedown_rechecks_schedule",
        "schedule": 60 * RECHECK_EVERY_MINUTES,
        "options": {"expires": 60 * RECHECK_EVERY_MINUTES * 0.8},  # a stale round is worth nothing
    },
    "reupload-watch": {
        "task": "casework.tasks.reupload_watch",
        "schedule": 5 * 60,  # a returned image is at most five minutes from its case being re-opened
        "options": {"expires": 4 * 60},
    },
    "crawl-pages-sweep": {
        "task": "detection.tasks.crawl_pages_sweep",
        "schedule": SCAN_SWEEP_EVERY_S,  # a crawl row lost with its worker is re-queued like a lost scan
        "options": {"expires": SCAN_SWEEP_EVERY_S * 0.8},
    },
    "watches-crawl-due": {
        "task": "detection.tasks.watches_crawl_due",
        "schedule": 60,  # a watch's schedule is in minutes: it starts within a minute of being due
        "options": {"expires": 50},
    },
    "media-scans-sweep": {
        "task": "detection.tasks.media_scans_sweep",
        "schedule": SCAN_SWEEP_EVERY_S,  # a lost scan is re-queued within SCAN_STUCK_AFTER_S plus this
        "options": {"expires": SCAN_SWEEP_EVERY_S * 0.8},  # a late sweep is worth nothing: the next does it
    },
}

# --- API ------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # A partner's token first, so an anonymous request is told (401) how to authenticate.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "casework.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # A JSON body nested too deep for Python's parser is a 400, not a 500 (casework.api.common).
    "DEFAULT_PARSER_CLASSES": [
        "casework.api.common.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Over-size bodies answer 413 in JSON like every other API error.
    "EXCEPTION_HANDLER": "casework.api.common.api_exception_handler",
    # Per token (each has its own service account) or per staff member (casework.api.common.ApiRateThrottle):
    # reads are cheap; each write may fetch a URL and queue a scan.
    "DEFAULT_THROTTLE_RATES": {
        "api_read": env_str("API_READ_RATE", "600/minute"),
        "api_write": env_str("API_WRITE_RATE", "60/minute"),
    },
}
for _scope, _rate in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].items():
    _count, _, _period = _rate.partition("/")
    if not (_count.isdigit() and _period[:1] in ("s", "m", "h", "d")):
        raise ImproperlyConfigured(f"API_{_scope[4:].upper()}_RATE: {_rate!r} is not a rate such as 60/minute")
SPECTACULAR_SETTINGS = {
    "TITLE": "Reclaim API",
    "DESCRIPTION": "Consent and takedown case management for people whose likeness is abused.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "OAS_VERSION": "3.1.0",  # for "webhooks": what Reclaim POSTs to partners (casework.api.webhooks)
    "WEBHOOKS": ["casework.api.webhooks.finding_confirmed_webhook"],
    # A media item's status is in two components (the submit answer and the item), so it is named here.
    "ENUM_NAME_OVERRIDES": {"MediaItemStatusEnum": "detection.models.MediaItem.Status"},
}

# --- Detection ------------------------------------------------------------------------------------
# 0.6 is dlib's operating point for its ResNet face model (99.38% on LFW pairs). `manage.py evaluate`
# on the shared test faces (17 identities enrolled from one photo each, 59 probes) gave 57 of 58
# true matches and no false match at 0.60, the first false match at 0.65 and 21 at 0.70 (README,
# "Matching threshold"). A small set: keep re-running it on your own labelled data.
FACE_MATCH_THRESHOLD = env_float("FACE_MATCH_THRESHOLD", 0.6, minimum=0.0, maximum=2.0)
# Meta's recommended starting point for PDQ: distance <= 31 of 256 bits, quality >= 50.
PDQ_MATCH_THRESHOLD = env_int("PDQ_MATCH_THRESHOLD", 31, minimum=0)
PDQ_MIN_QUALITY = env_int("PDQ_MIN_QUALITY", 50, minimum=0)
# The match index (detection.index): from this many face templates it is searched with FAISS
# IVF-Flat instead of exactly (detection.engine.index.FACE_FAISS_MIN says why 100k).
MATCH_INDEX_FAISS_MIN = env_int("MATCH_INDEX_FAISS_MIN", 100_000, minimum=1)
# A folder where workers save each built index under its generation, so a restarted worker loads it
# instead of reading every template and hash again. Unset: every worker builds from the database.
MATCH_INDEX_DIR = env_str("MATCH_INDEX_DIR")
# The head-pose indicator needs dlib's 68-point landmark model, trained on iBUG 300-W under a
# non-commercial licence: off unless the deployment's use is non-commercial and says so.
INDICATORS_ALLOW_NONCOMMERCIAL_MODELS = env_bool("INDICATORS_ALLOW_NONCOMMERCIAL_MODELS", False)
MEDIA_MAX_BYTES = env_int("MEDIA_MAX_BYTES", 200 * 1024 * 1024, minimum=1)
# Counted while the upload streams, before Django's own handlers (memory up to 2.5 MB, then a temporary
# file): a request past MEDIA_MAX_BYTES is refused with 413 there (config.uploads), for every form and the API.
FILE_UPLOAD_HANDLERS = [
    "config.uploads.MediaSizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
MEDIA_MAX_PIXELS = env_int("MEDIA_MAX_PIXELS", 60_000_000, minimum=1)
MEDIA_MAX_VIDEO_PIXELS = env_int("MEDIA_MAX_VIDEO_PIXELS", 3840 * 2160, minimum=1)
MEDIA_MAX_DURATION_S = env_float("MEDIA_MAX_DURATION_S", 3600.0, minimum=1.0)
# Fetching reported and crawled URLs (detection.fetching). Only public addresses are fetched; these
# networks are let through too, for a partner's intranet host or a test server.
FETCH_ALLOWED_NETWORKS = env_list("FETCH_ALLOWED_NETWORKS", [])
for _network in FETCH_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network)
    except ValueError as exc:
        raise ImproperlyConfigured(f"FETCH_ALLOWED_NETWORKS: {exc}; use CIDR networks such as 10.20.0.0/16") from None
FETCH_TIMEOUT_S = env_float("FETCH_TIMEOUT_S", 15.0, minimum=0.1)  # to connect, and between bytes
# A whole fetch, redirects included: a server dripping bytes slower than the timeout cannot hold a worker.
FETCH_DEADLINE_S = env_float("FETCH_DEADLINE_S", 300.0, minimum=0.1)
# A submitted URL's fetch task (detection.tasks.fetch_media_url) is stopped a fifth past the fetcher's
# own deadline, which cuts a slow server first: the soft limit (the item fails with the reason) and the
# hard one only stop a bug.
FETCH_SOFT_TIME_LIMIT_S = int(FETCH_DEADLINE_S * 1.1) + 1
FETCH_TIME_LIMIT_S = int(FETCH_DEADLINE_S * 1.2) + 2
# A message a worker took but never acknowledged (the main worker process killed, the machine gone) is
# given to another worker by Redis after this long. Redis's default is an hour: a scan lost with its
# worker waited that long. It must stay above every acks_late task's time limit plus its countdown, or a
# task still running is handed out twice: tasks that run longer are acks_early (casework.tasks), and
# retry countdowns stay below it (casework.tasks.webhook_deliver).
BROKER_VISIBILITY_TIMEOUT_S = max(SCAN_TIME_LIMIT_S, FETCH_TIME_LIMIT_S) + SCAN_GRACE_S
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": BROKER_VISIBILITY_TIMEOUT_S}
# A claim older than this is a scan whose worker is gone: no scan runs past its hard limit. The sweeper
# (detection.tasks.media_scans_sweep, on beat) re-queues it, and a re-submission of the file does too.
# Not later: Redis restores a lost main process's messages only some time after the visibility timeout
# (measured in tests/detection/test_worker_faults.py: the sweep came first), and the issue's promise is
# the time limit plus a minute.
SCAN_STUCK_AFTER_S = SCAN_TIME_LIMIT_S + SCAN_GRACE_S
FETCH_MAX_MEDIA_PER_PAGE = env_int("FETCH_MAX_MEDIA_PER_PAGE", 50, minimum=0)
FETCH_USER_AGENT = env_str("FETCH_USER_AGENT", "Reclaim/0.1 (evidence capture for takedown requests)")
# Crawling (detection.crawling, README "Crawling"). One page or media fetch is one task, so a claim older
# than the fetch task's hard limit plus the grace is a worker that died: the sweeper queues the row again,
# up to CRAWL_MAX_ATTEMPTS claims. A worker waits at most CRAWL_RATE_WAIT_S for its host's next request
# slot; a longer wait puts the row back with a countdown, so a slow host does not hold a worker.
CRAWL_CLAIM_STALE_S = env_int("CRAWL_CLAIM_STALE_S", FETCH_TIME_LIMIT_S + SCAN_GRACE_S, minimum=1)
CRAWL_MAX_ATTEMPTS = env_int("CRAWL_MAX_ATTEMPTS", 3, minimum=1)
CRAWL_RATE_WAIT_S = env_float("CRAWL_RATE_WAIT_S", 5.0, minimum=0.0)

# --- Casework: legal clocks and retention ---------------------------------------------------------
# Response targets where the law only says "timely" (DSA Art. 16(6)) or "expeditiously" (DMCA
# 512(c)(1)(C)): these are the organisation's targets, not statutory limits. TAKE IT DOWN (48 hours)
# and GDPR (one month, Art. 12(3)) are fixed by law in casework/deadlines.py.
DSA_RESPONSE_HOURS = env_int("DSA_RESPONSE_HOURS", 72, minimum=1)
DMCA_RESPONSE_HOURS = env_int("DMCA_RESPONSE_HOURS", 72, minimum=1)
# Search-engine delisting outside the GDPR has no statutory clock; a month, like GDPR's, by default.
DELISTING_RESPONSE_HOURS = env_int("DELISTING_RESPONSE_HOURS", 30 * 24, minimum=1)
# A request is "at risk" once less than this share of its period is left (a quarter: 12 of 48 hours).
DEADLINE_AT_RISK_FRACTION = env_float("DEADLINE_AT_RISK_FRACTION", 0.25, minimum=0.0, maximum=1.0)
# Biometric data (face templates, known-image hashes) of a subject with no open case and no activity
# for this many days is deleted (GDPR Art. 5(1)(e), storage limitation); a subject with a contact
# e-mail is told first and the deletion waits RETENTION_NOTICE_DAYS more.
BIOMETRIC_RETENTION_DAYS = env_int("BIOMETRIC_RETENTION_DAYS", 365, minimum=1)
RETENTION_NOTICE_DAYS = env_int("RETENTION_NOTICE_DAYS", 14, minimum=0)
# The hash feed for platforms (casework.api.stopncii, README "For platforms"). A hash that leaves the feed
# (consent withdrawn, removed, purged) stays as a Withdrawn/Deleted tombstone this many days, so platforms
# read that they must delete it; then the retention run purges it.
HASH_FEED_TOMBSTONE_DAYS = env_int("HASH_FEED_TOMBSTONE_DAYS", 90, minimum=1)
# How long a FetchHashes nextPageToken works (StopNCII: "not valid over long periods of time").
HASH_FEED_PAGE_TOKEN_MAX_AGE_S = env_int("HASH_FEED_PAGE_TOKEN_MAX_AGE_S", 24 * 3600, minimum=60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # WeasyPrint logs every step of every PDF at INFO (seven lines a receipt): its warnings are what matter.
    "loggers": {"weasyprint": {"level": "WARNING"}, "weasyprint.progress": {"level": "WARNING"}},
}

"""Settings for the test suite: the real settings, made fast and isolated.

``DATABASE_URL`` still decides the database, so CI runs this suite against PostgreSQL.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-secret-key-that-is-long-enough-for-django-checks-0123456789")
# A fixed key, so encrypted test rows are reproducible; never used outside tests.
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "dGVzdC1maWVsZC1lbmNyeXB0aW9uLWtleS0zMmJ5dGU=")

from config.settings import *  # noqa: E402,F403 - the real settings, then overrides

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SECURE_SSL_REDIRECT = False
# Templates name static files without a collectstatic run: the production storage needs its manifest.
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="reclaim-test-static-"))  # WhiteNoise warns when it is missing
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="reclaim-test-media-"))  # noqa: F405
# Fetching tests serve pages from a local HTTP server; production refuses loopback like any private address.
FETCH_ALLOWED_NETWORKS = ["127.0.0.1/32"]

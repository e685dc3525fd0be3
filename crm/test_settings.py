"""Settings for the test suite: the real settings, with test keys and faster hashing.

Tests run on PostgreSQL and Redis (DATABASE_URL and REDIS_URL, defaulting to the local
services). The one exception is the demo's page tour, which `make test` runs once more on an
in-memory SQLite database without Redis (`DATABASE_URL=sqlite:// REDIS_URL=`), as `make run` starts.
"""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-secret-key-used-only-by-the-test-suite")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
# Test-only keys (32 bytes, base64): never used outside the suite.
os.environ.setdefault(
    "FIELD_ENCRYPTION_KEYS",
    "dGVzdC1rZXktMDEtMDEyMzQ1Njc4OWFiY2RlZjAxMjM=",
)
os.environ.setdefault("FIELD_BLIND_INDEX_KEY", "dGVzdC1ibGluZC1pbmRleC1rZXktMDEyMzQ1Njc4OWE=")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

from crm.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
AXES_ENABLED = True
# Assertions read English; tests of the Chinese interface ask for it (Accept-Language, the switcher).
LANGUAGE_CODE = "en"
# Whitenoise looks for collected files; tests serve from the finders instead.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
# Serialized rollback (transaction=True tests) reloads the initial rows with raw saves; auditing
# those would write entries that point at content types not reloaded yet.
AUDITLOG_DISABLE_ON_RAW_SAVE = True

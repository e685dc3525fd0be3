"""Settings for the CRM, read from the environment (and a `.env` file in development).

Every value has a safe development default except the secrets, which `make run` generates
into `.env`. Production runs with DEBUG off and must pass `manage.py check --deploy`.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="insecure-development-key-not-for-production")
else:
    SECRET_KEY = env.str("SECRET_KEY")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "crm",  # first, so its templates and translations override third-party ones
    "customers",
    "pipeline",
    "campaigns",
    "tickets",
    "reports",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.forms",  # Django's widget templates, for the project-wide form renderer below
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "guardian",
    "auditlog",
    "axes",
    "csp",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "django_otp",
    "django_otp.plugins.otp_totp",
]

MIDDLEWARE = [
    "crm.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "crm.middleware.BodyLimitMiddleware",  # before CSRF, which reads the form body
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "crm.middleware.CachedRolesMiddleware",
    "crm.middleware.ReadSharesOnceMiddleware",
    "crm.middleware.UserLanguageMiddleware",
    "crm.directory.DirectoryCheckMiddleware",  # a user disabled in the directory is signed out
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "crm.middleware.SessionIdleTimeoutMiddleware",  # after messages and htmx: it uses both
    "crm.signin.SignInPolicyMiddleware",  # networks per role, absolute timeout, session records
    "crm.mfa.SecondFactorMiddleware",  # a second factor where the user's role requires one
    "crm.middleware.AuditContextMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

# Widgets render through the project's template engine, so custom widgets (the record picker)
# live with the other templates and use its tags and translations.
FORM_RENDERER = "crm.renderers.FormRenderer"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "crm.context_processors.shell",
            ],
        },
    },
    {
        # The rows of the lists (crm/jinja.py): <app>/jinja2/<app>/*.jinja.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "APP_DIRS": True,
        "OPTIONS": {"environment": "crm.jinja.environment"},
    },
]

# Database: PostgreSQL in production and tests; an embedded SQLite file when DATABASE_URL is unset.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'crm.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A database that does not answer should fail a request (and /healthz) quickly, not hang it.
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5))
USING_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True  # Django 6's default: a bare "example.com" means https

# Redis backs the cache and Celery. Without it the app runs with local memory and inline
# tasks, which is enough for a single developer but not for production. Sessions live in the
# database either way; with Redis they keep a copy in the cache, so a Redis restart signs
# nobody out, and while Redis is away the cache misses instead of failing (crm/cache.py).
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "crm.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="crm"),
            # A Redis that does not answer costs a request at most a second, not five.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    SESSION_ENGINE = "crm.sessions"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
# How long a session's cached copy is trusted before the database is read again (crm/sessions.py).
SESSION_CACHE_TIMEOUT = 5 * 60

AUTH_USER_MODEL = "crm.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]

# Second factor (crm/mfa.py): the name authenticator apps show, and django-otp's own device
# admin never shows the secret keys.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="CRM")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- Directory sign-in (LDAP / Active Directory, crm/directory.py) ---------------------------------
# Off unless LDAP_SERVER_URI is set; the directory's accounts then sign in before local ones.
# Every variable is described in docs/directory.md.
LDAP_SERVER_URI = env.str("LDAP_SERVER_URI", default="")  # ldap://dc1.example.com or ldaps://…
LDAP_START_TLS = env.bool("LDAP_START_TLS", default=False)
LDAP_CA_FILE = env.str("LDAP_CA_FILE", default="")  # PEM bundle that signed the server's certificate
# Passwords only travel encrypted, unless a deployment says so (a directory on the same host).
LDAP_ALLOW_PLAINTEXT = env.bool("LDAP_ALLOW_PLAINTEXT", default=False)
LDAP_BIND_DN = env.str("LDAP_BIND_DN", default="")  # the read-only service account; empty: anonymous
if "LDAP_BIND_PASSWORD_FILE" in env:
    LDAP_BIND_PASSWORD = Path(env.str("LDAP_BIND_PASSWORD_FILE")).read_text().strip()
else:
    LDAP_BIND_PASSWORD = env.str("LDAP_BIND_PASSWORD", default="")
LDAP_USER_BASE = env.str("LDAP_USER_BASE", default="")
LDAP_USER_FILTER = env.str("LDAP_USER_FILTER", default="(sAMAccountName=%(user)s)")
LDAP_GROUP_BASE = env.str("LDAP_GROUP_BASE", default="") or LDAP_USER_BASE
LDAP_GROUP_TYPE = env.str("LDAP_GROUP_TYPE", default="ad").lower()
# A search filter that matches a disabled account (AD: userAccountControl bit 2); empty: none is.
LDAP_DISABLED_FILTER = env.str("LDAP_DISABLED_FILTER", default="(userAccountControl:1.2.840.113556.1.4.803:=2)")
LDAP_RECHECK_SECONDS = env.int("LDAP_RECHECK_SECONDS", default=60)
LDAP_TIMEOUT = env.float("LDAP_TIMEOUT", default=5.0)


def _directory_mapping(name: str) -> list[tuple[str, str]]:
    """`Key=group DN;Key=group DN` (or one pair a line) as [(key, DN)], failing loudly on a bad pair."""
    pairs = []
    for item in env.str(name, default="").replace("\n", ";").split(";"):
        if not item.strip():
            continue
        key, sep, dn = item.partition("=")
        if not sep or not key.strip() or "=" not in dn:
            raise environ.ImproperlyConfigured(f"{name}: {item.strip()!r} is not of the form 'Name=group DN'.")
        pairs.append((key.strip(), dn.strip()))
    return pairs


def _directory_roles() -> list[tuple[str, str]]:
    from crm.roles import ROLES

    by_name = {role.lower(): role for role in ROLES}
    mapping = []
    for key, dn in _directory_mapping("LDAP_ROLE_GROUPS"):
        if key.lower() not in by_name:
            raise environ.ImproperlyConfigured(f"LDAP_ROLE_GROUPS: {key!r} is not a role ({', '.join(ROLES)}).")
        mapping.append((by_name[key.lower()], dn))
    return mapping


def _directory_teams() -> list[tuple[str, str, str]]:
    """[(team name, "member" or "manager", DN)]; "East:manager=…" makes the group's members managers."""
    mapping = []
    for key, dn in _directory_mapping("LDAP_TEAM_GROUPS"):
        name, _sep, role = key.rpartition(":")
        if role.strip().lower() not in ("member", "manager") or not name.strip():
            name, role = key, "member"
        mapping.append((name.strip(), role.strip().lower(), dn))
    return mapping


LDAP_ROLE_GROUPS = _directory_roles()
LDAP_TEAM_GROUPS = _directory_teams()
if LDAP_SERVER_URI:
    for _uri in LDAP_SERVER_URI.split():
        if not _uri.startswith(("ldap://", "ldaps://")):
            raise environ.ImproperlyConfigured(f"LDAP_SERVER_URI: {_uri!r} must start with ldap:// or ldaps://.")
        if _uri.startswith("ldap://") and not LDAP_START_TLS and not LDAP_ALLOW_PLAINTEXT:
            raise environ.ImproperlyConfigured(
                "LDAP_SERVER_URI: passwords would cross the network unencrypted. Use ldaps://, "
                "set LDAP_START_TLS=true, or (a directory on this host only) LDAP_ALLOW_PLAINTEXT=true."
            )
    if not LDAP_USER_BASE:
        raise environ.ImproperlyConfigured("LDAP_USER_BASE is required when LDAP_SERVER_URI is set.")
    if "%(user)s" not in LDAP_USER_FILTER:
        raise environ.ImproperlyConfigured("LDAP_USER_FILTER must contain %(user)s.")
    if LDAP_GROUP_TYPE not in ("ad", "ad-nested", "groupofnames", "groupofuniquenames", "posix"):
        raise environ.ImproperlyConfigured(
            "LDAP_GROUP_TYPE must be one of ad, ad-nested, groupOfNames, groupOfUniqueNames, posix."
        )
    if LDAP_RECHECK_SECONDS < 0:
        raise environ.ImproperlyConfigured("LDAP_RECHECK_SECONDS must be 0 (every request) or more.")
    AUTHENTICATION_BACKENDS.insert(1, "crm.directory.DirectoryBackend")
# --- end of directory sign-in ----------------------------------------------------------------------
# Local passwords (directory accounts have none here): at least PASSWORD_MIN_LENGTH characters
# and not on the breached-password list, a file read locally, never fetched. The default is the
# list Django ships (20,000 passwords most often found in breaches); PASSWORD_BREACHED_LIST may
# name a longer one (one password per line, plain or .gz).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env.int("PASSWORD_MIN_LENGTH", default=12)},
    },
    {
        "NAME": "django.contrib.auth.password_validation.CommonPasswordValidator",
        **(
            {"OPTIONS": {"password_list_path": env.str("PASSWORD_BREACHED_LIST")}}
            if env.str("PASSWORD_BREACHED_LIST", default="")
            else {}
        ),
    },
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after this much inactivity (seconds); every request renews the deadline.
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 60 * 60)
# However active it is, a session ends this long after its sign-in (crm/signin.py).
SESSION_ABSOLUTE_TIMEOUT = env.int("SESSION_ABSOLUTE_TIMEOUT", default=SESSION_COOKIE_AGE)

# Brute-force protection: lock a username+address pair after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# Reverse proxies in front of the CRM (each appends to X-Forwarded-For); crm.network.client_address
# is the one place that reads it, for lockouts, rate limits, audit entries and sessions.
PROXY_COUNT = env.int("PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "crm.network.client_address"
# Failures are counted in the database, never in the cache (which misses while Redis is away),
# so lockouts keep working through a Redis outage.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"

# Object permissions: guardian's anonymous user is not needed, we never grant to anonymous.
GUARDIAN_MONKEY_PATCH_USER = False
ANONYMOUS_USER_NAME = None

# Audit trail
AUDITLOG_INCLUDE_ALL_MODELS = False
AUDIT_RETENTION_DAYS = max(env.int("AUDIT_RETENTION_DAYS", default=365), 180)
# Masking: each model lists its sensitive fields when it is registered (encrypted fields via
# crm.fields.encrypted_audit_options, checked by a system check); values are hidden by this
# callable unless the registration names another. Passwords are never registered.
AUDITLOG_MASK_CALLABLE = "crm.audit.mask_value"

# Field encryption: comma-separated base64 keys of 32 bytes; the first encrypts, all decrypt.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
FIELD_BLIND_INDEX_KEY = env.str("FIELD_BLIND_INDEX_KEY", default="")
# Uploaded import files and generated export files (encrypted on disk, crm/storage.py) are
# deleted this many days after they were made, by an hourly beat task.
IMPORT_EXPORT_RETENTION_DAYS = env.int("IMPORT_EXPORT_RETENTION_DAYS", default=7)
if IMPORT_EXPORT_RETENTION_DAYS < 1:
    raise environ.ImproperlyConfigured("IMPORT_EXPORT_RETENTION_DAYS must be at least 1 (days).")

# Internationalisation
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Date formats per language where Django's own fall short, and a few named formats of ours.
FORMAT_MODULE_PATH = ["crm.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# Static and media files
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")

# Email: EMAIL_URL (smtp://user:pass@host:587/?tls=True) or the console in development.
if "EMAIL_URL" in env:
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = env.str(
        "EMAIL_BACKEND",
        default="django.core.mail.backends.console.EmailBackend"
        if DEBUG
        else "django.core.mail.backends.smtp.EmailBackend",
    )
    EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="crm@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: Redis broker; with no Redis, tasks run inline in the web process.
# Inline tasks still open a producer: name a host, or kombu warns about the missing one on every task.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL or env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 60 * 60}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Tasks queued while the broker is away wait in the database (crm/outbox.py); beat hands over
# those older than this many seconds, so it never races a hand-over still under way.
TASK_OUTBOX_GRACE = 30
CELERY_TIMEZONE = TIME_ZONE
# Workers log through LOGGING above (JSON, with the task id) instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Security headers. HTTPS settings default on when DEBUG is off; an intranet behind a TLS
# proxy sets SECURE_PROXY_SSL_HEADER through PROXY_SSL_HEADER=1.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Preloading is a promise about a public domain and its subdomains, made by whoever owns it
# (anyone may submit a domain whose header says "preload"); an intranet name cannot be
# preloaded at all. So it stays opt-in and its deployment warning is silenced while off.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
if not USING_POSTGRES:
    # The embedded SQLite file ignores the INCLUDE columns of the board's covering indexes,
    # which only matter for speed at millions of rows on PostgreSQL.
    SILENCED_SYSTEM_CHECKS.append("models.W040")
if env.bool("PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content Security Policy (django-csp 4): no inline scripts, nothing from other origins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

# Logging: one JSON object per line, with the request id and user id bound by middleware.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_context": {"()": "crm.logging.RequestContextFilter"},
        "drop_query_strings": {"()": "crm.logging.DropQueryStrings"},
    },
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s %(task_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601 in UTC, whatever TIME_ZONE says
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_context", "drop_query_strings"],
        },
        # The development server's request lines, as Django prints them, without query strings.
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["drop_query_strings"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "django.request": {"level": "WARNING", "propagate": True},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        # axes announces its configuration at every start of every process.
        "axes.apps": {"level": "WARNING"},
        # runserver's reloader announces itself at every start, twice in DEBUG (Django's handler and ours).
        "django.utils.autoreload": {"level": "WARNING"},
        # Tasks that run inline (no Redis) would log every success in the web console.
        **({"celery.app.trace": {"level": "WARNING"}} if CELERY_TASK_ALWAYS_EAGER else {}),
    },
}

SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from crm.sentry import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        release=env.str("SENTRY_RELEASE", default="") or None,
    )

# Health check: also ask a Celery worker to answer, when a broker is configured.
HEALTHZ_CHECK_CELERY = env.bool("HEALTHZ_CHECK_CELERY", default=bool(REDIS_URL))
HEALTHZ_CELERY_TIMEOUT = env.float("HEALTHZ_CELERY_TIMEOUT", default=2.0)

# Where `manage.py backup` writes its archives unless told otherwise.
BACKUP_DIR = env.path("BACKUP_DIR", default=BASE_DIR / "var" / "backups")

# Lists: how many rows a page shows, and where counting stops being exact.
PAGE_SIZE = env.int("PAGE_SIZE", default=50)
LIST_COUNT_CAP = env.int("LIST_COUNT_CAP", default=1000)

# Leads: who gets a lead no assignment rule can place (a username; empty: the first
# Administrator), and the public web-to-lead forms' framing and spam limits.
LEAD_DEFAULT_OWNER = env.str("LEAD_DEFAULT_OWNER", default="")
WEB_FORM_FRAME_ANCESTORS = env.list("WEB_FORM_FRAME_ANCESTORS", default=["'self'"])
WEB_FORM_RATE_LIMIT = env.int("WEB_FORM_RATE_LIMIT", default=10)
WEB_FORM_RATE_WINDOW = env.int("WEB_FORM_RATE_WINDOW", default=3600)
# Searches by a whole phone number, per user: audited, and at most this many per window.
PHONE_SEARCH_LIMIT = env.int("PHONE_SEARCH_LIMIT", default=30)
PHONE_SEARCH_WINDOW = env.int("PHONE_SEARCH_WINDOW", default=3600)
WEB_FORM_MAX_BODY_BYTES = env.int("WEB_FORM_MAX_BODY_BYTES", default=16 * 1024)

# Sales tasks, reminders and forecast.
FORECAST_COMMIT_THRESHOLD = env.int("FORECAST_COMMIT_THRESHOLD", default=75)  # percent
REMINDER_LOOKBACK_DAYS = env.int("REMINDER_LOOKBACK_DAYS", default=1)
SITE_URL = env.str("SITE_URL", default="")  # absolute links in reminder emails, e.g. https://crm.example.com

# Service tickets: who gets what no assignment rule places (a team name), how long after
# resolution a customer's reply reopens a ticket, how early the assignee is warned of a breach,
# the address replies come from, attachment and mail size limits, the IMAP timeout, and how long
# the customer's status and rating links work.
TICKET_DEFAULT_TEAM = env.str("TICKET_DEFAULT_TEAM", default="")
TICKET_REOPEN_DAYS = env.int("TICKET_REOPEN_DAYS", default=7)
TICKET_SLA_WARNING_MINUTES = env.int("TICKET_SLA_WARNING_MINUTES", default=60)
TICKET_FROM_EMAIL = env.str("TICKET_FROM_EMAIL", default="") or DEFAULT_FROM_EMAIL
TICKET_ATTACHMENT_MAX_BYTES = env.int("TICKET_ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
TICKET_MAIL_MAX_BYTES = env.int("TICKET_MAIL_MAX_BYTES", default=30 * 1024 * 1024)
TICKET_IMAP_TIMEOUT = env.int("TICKET_IMAP_TIMEOUT", default=30)
TICKET_STATUS_LINK_DAYS = env.int("TICKET_STATUS_LINK_DAYS", default=90)
TICKET_FEEDBACK_LINK_DAYS = env.int("TICKET_FEEDBACK_LINK_DAYS", default=30)

# Marketing campaigns: the sending address and the domain of their Message-IDs, how many messages
# one worker sends over one SMTP connection, how many a minute at most (0: no limit), how often a
# temporarily refused message is tried again, and how many workers share one send.
CAMPAIGN_FROM_EMAIL = env.str("CAMPAIGN_FROM_EMAIL", default="") or DEFAULT_FROM_EMAIL
CAMPAIGN_SENDER_DOMAIN = env.str("CAMPAIGN_SENDER_DOMAIN", default="") or CAMPAIGN_FROM_EMAIL.rpartition("@")[2]
CAMPAIGN_UNSUBSCRIBE_MAILTO = env.str("CAMPAIGN_UNSUBSCRIBE_MAILTO", default="")
CAMPAIGN_BATCH_SIZE = env.int("CAMPAIGN_BATCH_SIZE", default=200)
CAMPAIGN_RATE_PER_MINUTE = env.int("CAMPAIGN_RATE_PER_MINUTE", default=0)
CAMPAIGN_MAX_ATTEMPTS = env.int("CAMPAIGN_MAX_ATTEMPTS", default=5)
CAMPAIGN_SEND_WORKERS = env.int("CAMPAIGN_SEND_WORKERS", default=2)
# Messages a minute per recipient domain, over all workers: "qq.com=300,163.com=300".
CAMPAIGN_DOMAIN_RATES = {
    domain.strip().lower(): int(rate)
    for domain, rate in env.dict("CAMPAIGN_DOMAIN_RATES", default={}).items()
    if domain.strip()
}
# Bounces: a mailbox the bounce address delivers to (read every five minutes when set), and a
# secret a mail provider's webhook presents (the webhook is off without one).
# SMS: the provider adapter (campaigns/sms.py; the console one logs instead of sending), the
# opt-out line added to each message (empty: "Reply T to unsubscribe" in the recipient's
# language), and the secret of the provider's delivery reports.
CAMPAIGN_SMS_BACKEND = env.str("CAMPAIGN_SMS_BACKEND", default="campaigns.sms.ConsoleBackend")
CAMPAIGN_SMS_OPT_OUT = env.str("CAMPAIGN_SMS_OPT_OUT", default="")
CAMPAIGN_SMS_WEBHOOK_TOKEN = env.str("CAMPAIGN_SMS_WEBHOOK_TOKEN", default="")
CAMPAIGN_RETURN_PATH = env.str("CAMPAIGN_RETURN_PATH", default="")  # the envelope sender: where bounces go
CAMPAIGN_BOUNCE_IMAP_HOST = env.str("CAMPAIGN_BOUNCE_IMAP_HOST", default="")
CAMPAIGN_BOUNCE_IMAP_PORT = env.int("CAMPAIGN_BOUNCE_IMAP_PORT", default=993)
CAMPAIGN_BOUNCE_IMAP_SSL = env.bool("CAMPAIGN_BOUNCE_IMAP_SSL", default=True)
CAMPAIGN_BOUNCE_IMAP_USER = env.str("CAMPAIGN_BOUNCE_IMAP_USER", default="")
CAMPAIGN_BOUNCE_IMAP_PASSWORD = env.str("CAMPAIGN_BOUNCE_IMAP_PASSWORD", default="")
CAMPAIGN_BOUNCE_IMAP_FOLDER = env.str("CAMPAIGN_BOUNCE_IMAP_FOLDER", default="INBOX")
CAMPAIGN_BOUNCE_WEBHOOK_TOKEN = env.str("CAMPAIGN_BOUNCE_WEBHOOK_TOKEN", default="")
if not 0 <= FORECAST_COMMIT_THRESHOLD <= 100:
    raise ValueError("FORECAST_COMMIT_THRESHOLD must be a percentage between 0 and 100.")

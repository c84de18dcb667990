"""Settings for the support-request portal.

One module for every environment: each value that differs between a laptop and production comes
from an environment variable (see docs/configuration.md, .env.example). Defaults are safe: without
``DEBUG=1`` the portal refuses to start on a missing ``SECRET_KEY``.
"""

import ipaddress
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from portal.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_seconds_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEBUG=1 for local development."
        )
    SECRET_KEY = "insecure-local-development-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_tasks_db",
    "axes",
    # The staff's second factor: an authenticator app (TOTP), passkeys, recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "tickets",
]

MIDDLEWARE = [
    "tickets.operations.middleware.HealthCheckMiddleware",
    "tickets.operations.middleware.UntrustedForwardedForMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "tickets.operations.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # After the language is chosen, so that its page is in the customer's; before anything
    # reads the body.
    "tickets.operations.middleware.RequestSizeLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Reads the form in its process_view, just before CsrfViewMiddleware's check reads it; its
    # 400 page still passes through every middleware's response, so it is in the customer's
    # language and carries a valid CSRF cookie for the language switcher.
    "tickets.operations.middleware.CompleteBodyMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed the second factor; until it has
    # (STAFF_SECOND_FACTOR_REQUIRED), no console page but the second factor's own opens.
    "django_otp.middleware.OTPMiddleware",
    "tickets.admin.second_factor.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tickets.operations.middleware.DatabaseOutageMiddleware",
    # Last, as django-axes asks: it watches the admin login for password guessing.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "tickets.customer.context_processors.operator",
                "tickets.customer.context_processors.phone",
            ],
        },
    },
]

# The embedded default is a SQLite file; production selects PostgreSQL with DATABASE_URL.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    )
}
# Connections kept open between requests, in seconds. SQLite: 10 minutes by default, since
# opening one (a file, Django's functions, the pragmas below) costs more than many a request,
# and there is no server whose connections it would tie up. PostgreSQL: 0 unless set (60 is good
# without a connection pooler in front).
DATABASES["default"]["CONN_MAX_AGE"] = env_int(
    "DATABASE_CONN_MAX_AGE",
    600 if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" else 0,
)
# A kept connection the database server has dropped (a restart) is found before it is used.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = DATABASES["default"]["CONN_MAX_AGE"] != 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and the worker share one file: wait for locks instead of failing, and let
    # readers run beside the single writer (WAL). synchronous=FULL: a request the customer was
    # given a reference for is on the disk, and survives a power cut, before the answer leaves;
    # NORMAL would be faster, and may lose the last requests when the machine goes down.
    # Writers take the lock in turn, trying every millisecond (portal/sqlite/base.py).
    DATABASES["default"]["ENGINE"] = "portal.sqlite"
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
        }
    )
elif env_bool("DATABASE_PREPARED_STATEMENTS", True):
    # Values bound by the server, and a statement a connection has run twice prepared: the
    # worker's kept connection runs the same few dozen statements for every request, and
    # PostgreSQL then plans each once instead of every time (about 40 % of its CPU per forward).
    # Off behind a pooler that shares server connections between transactions (PgBouncer's
    # transaction mode before 1.21 loses prepared statements).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": 2}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ms", "Bahasa Melayu"), ("id", "Bahasa Indonesia")]
# The portal's catalogues; each provider's own follow them (with the providers, below).
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Kuala_Lumpur")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "/media/"


def _attachment_storage() -> dict:
    """Local disk by default; an S3-compatible bucket when several machines must share files."""
    backend = env_str("ATTACHMENT_STORAGE", "local")
    if backend == "local":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if backend == "s3":
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": env_str("S3_BUCKET"),
                "endpoint_url": env_str("S3_ENDPOINT_URL") or None,
                "region_name": env_str("S3_REGION") or None,
                "access_key": env_str("S3_ACCESS_KEY_ID"),
                "secret_key": env_str("S3_SECRET_ACCESS_KEY"),
                # Private objects: staff download through the admin, never by a public URL.
                "default_acl": "private",
                "querystring_auth": True,
                "file_overwrite": False,
            },
        }
    raise ImproperlyConfigured(f"ATTACHMENT_STORAGE must be 'local' or 's3', not {backend!r}.")


STORAGES = {
    # Attachments are personal data: no MEDIA_URL is ever served publicly.
    "default": _attachment_storage(),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            # WhiteNoise's hashed and compressed files, the portal's own scripts minified.
            else "portal.staticfiles.MinifiedManifestStaticFilesStorage"
        )
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Background work: Django's tasks framework on the database backend, so no extra server is
# needed on the embedded default. `manage.py db_worker` runs the queue.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"hide_customer_links": {"()": "tickets.operations.logs.HideCustomerLinks"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["hide_customer_links"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Through the root's handler only: Django's own console handler would print each of its
        # lines a second time in DEBUG.
        "django": {"handlers": [], "level": env_str("LOG_LEVEL", "INFO"), "propagate": True},
        # urllib3 logs full URLs and headers at DEBUG; keep it quiet so no token can leak.
        "urllib3": {"level": "WARNING"},
    },
}

# --- Providers -----------------------------------------------------------------------------
# The sandbox is a local fake of both providers (tickets/sandbox). It is on by default only in
# DEBUG, and production settings refuse it outright.
SANDBOX_ENABLED = env_bool("SANDBOX", DEBUG)
if SANDBOX_ENABLED and not DEBUG:
    raise ImproperlyConfigured(
        "SANDBOX=1 is refused when DEBUG is off: the sandbox providers are for local use only."
    )
SANDBOX_URL = env_str("SANDBOX_URL", "http://127.0.0.1:8001")

# Every provider the portal has a package for: alias -> backend. A provider reads its own settings
# when it is built (OPTIONS first, then its environment variables: tickets/providers/settings.py).
_PROVIDER_BACKENDS = {
    "onecloud": "tickets.providers.onecloud.OneCloud",
    "storehub": "tickets.providers.storehub.StoreHub",
}


def _ticket_providers() -> dict:
    """The registry, like TASKS or STORAGES: alias -> {"BACKEND": ..., "OPTIONS": {...}}.

    ENABLED_PROVIDERS picks the providers customers see, in that order. A provider without a URL
    is still built, so that the system checks can say what is missing.
    """
    enabled = env_list("ENABLED_PROVIDERS", ",".join(_PROVIDER_BACKENDS))
    unknown = [alias for alias in enabled if alias not in _PROVIDER_BACKENDS]
    if unknown:
        raise ImproperlyConfigured(
            f"ENABLED_PROVIDERS names an unknown provider {unknown[0]!r}; "
            f"use any of: {', '.join(_PROVIDER_BACKENDS)}."
        )
    return {alias: {"BACKEND": _PROVIDER_BACKENDS[alias], "OPTIONS": {}} for alias in enabled}


TICKET_PROVIDERS = _ticket_providers()
# A provider's texts are in its package's own catalogues (scripts/messages.sh writes them), so a
# provider added or changed leaves the portal's catalogues alone.
LOCALE_PATHS += [
    BASE_DIR / backend.rsplit(".", 1)[0].replace(".", "/") / "locale"
    for backend in _PROVIDER_BACKENDS.values()
]

# --- Forwarding and retries ----------------------------------------------------------------
# A request is tried for this long (default 3 days) before it is marked failed for staff. The
# time held by a configuration or account error does not count: only staff can end that.
FORWARD_RETRY_PERIOD_SECONDS = env_float("FORWARD_RETRY_PERIOD_SECONDS", 3 * 24 * 3600)
# Transient errors and unknown outcomes: these first waits, then doubling up to the cap; each
# wait spread by up to 20 % either way so that a provider coming back is not hit all at once.
FORWARD_RETRY_FIRST_WAITS = env_seconds_list("FORWARD_RETRY_FIRST_WAITS", "2,10,30")
FORWARD_RETRY_MAX_SECONDS = env_float("FORWARD_RETRY_MAX_SECONDS", 3600)
# Rate limits: about a minute (or the provider's Retry-After), doubling while they last.
FORWARD_RATE_LIMIT_BASE_SECONDS = env_float("FORWARD_RATE_LIMIT_BASE_SECONDS", 60)
FORWARD_RATE_LIMIT_MAX_SECONDS = env_float("FORWARD_RATE_LIMIT_MAX_SECONDS", 3600)
# Held (configuration or account): tried again at this steady pace, never given up; forwards,
# e-mails and WhatsApp messages alike.
OUTBOX_CONFIG_RETRY_SECONDS = env_float("OUTBOX_CONFIG_RETRY_SECONDS", 900)
# Every call of one forward must end within this many seconds (token and ticket together).
FORWARD_CALL_DEADLINE_SECONDS = env_float("FORWARD_CALL_DEADLINE_SECONDS", 90)
# A forward still "sending" after this long belongs to a worker that died; it is picked up again.
# It must be longer than the deadline plus one read time-out (a system check says so).
FORWARD_LEASE_SECONDS = env_float("FORWARD_LEASE_SECONDS", 180)
# The sweep of every outbox (work a dead worker left, tasks lost) runs this often.
OUTBOX_SWEEP_INTERVAL_SECONDS = env_float("OUTBOX_SWEEP_INTERVAL_SECONDS", 60)
# A row of any outbox overdue by this long has lost its task and is given a new one.
OUTBOX_SWEEP_GRACE_SECONDS = env_float("OUTBOX_SWEEP_GRACE_SECONDS", 120)
# Provider and token URLs must be https. Plain http is accepted only to this machine: in DEBUG
# (the sandbox providers), or where the operator says so (a TLS-terminating egress proxy on
# loopback; the benchmarks' workers, which run as deployed against the sandbox).
PROVIDER_ALLOW_HTTP_ON_LOOPBACK = env_bool("PROVIDER_ALLOW_HTTP_ON_LOOPBACK", DEBUG)

# --- E-mail ---------------------------------------------------------------------------------
# Read from Django's own variable names (EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER,
# EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, EMAIL_USE_SSL) into Django 6.1's MAILERS, which replaces
# the EMAIL_* settings. Without a mail server in DEBUG, e-mails go to the sandbox, which catches
# them and lists them at SANDBOX_URL/_sandbox/mail (`make run`); with DEBUG off and no
# EMAIL_HOST, a system check warns that nobody will be told anything.
SANDBOX_SMTP_PORT = env_int("SANDBOX_SMTP_PORT", 8025)
EMAIL_SERVER_CONFIGURED = bool(env_str("EMAIL_HOST"))
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": env_str("EMAIL_HOST") or ("127.0.0.1" if SANDBOX_ENABLED else "localhost"),
            "port": env_int(
                "EMAIL_PORT",
                SANDBOX_SMTP_PORT if SANDBOX_ENABLED and not EMAIL_SERVER_CONFIGURED else 25,
            ),
            "username": env_str("EMAIL_HOST_USER") or None,
            "password": env_str("EMAIL_HOST_PASSWORD") or None,
            "use_tls": env_bool("EMAIL_USE_TLS", False),
            "use_ssl": env_bool("EMAIL_USE_SSL", False),
            "timeout": env_float("EMAIL_TIMEOUT", 20),
        },
    }
}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "Support portal <support@localhost>"
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Who is told when a request needs a person (held, rejected, failed, possibly duplicated).
STAFF_ALERT_EMAILS = env_list("STAFF_ALERT_EMAILS")
# At most one alert e-mail per this many seconds; alerts in between go in the next digest.
STAFF_ALERT_DIGEST_SECONDS = env_float("STAFF_ALERT_DIGEST_SECONDS", 15 * 60)

# --- WhatsApp -------------------------------------------------------------------------------
# Customers who tick "Send me updates on WhatsApp" get the receipt, the ticket number and a note
# if the request is rejected, closed or reopened, through Meta's WhatsApp Cloud API, as utility
# templates approved in en, ms and id under the names below (docs/operations.md). On when the phone
# number ID and the access token are set; in DEBUG without them, the sandbox's fake Cloud API.
# A system check says what is missing.
WHATSAPP_SANDBOX = SANDBOX_ENABLED and not env_str("WHATSAPP_ACCESS_TOKEN")
WHATSAPP = {
    "API_URL": env_str(
        "WHATSAPP_API_URL",
        f"{SANDBOX_URL}/whatsapp/v23.0" if WHATSAPP_SANDBOX else "https://graph.facebook.com/v23.0",
    ),
    "PHONE_NUMBER_ID": env_str(
        "WHATSAPP_PHONE_NUMBER_ID", "100200300400500" if WHATSAPP_SANDBOX else ""
    ),
    "ACCESS_TOKEN": env_str("WHATSAPP_ACCESS_TOKEN", "sandbox-token" if WHATSAPP_SANDBOX else ""),
    "TEMPLATES": {
        kind: env_str(
            f"WHATSAPP_TEMPLATE_{kind.upper()}", f"portal_{kind}" if WHATSAPP_SANDBOX else ""
        )
        for kind in (
            "receipt",
            "ticket_number",
            "rejected",
            "cancelled",
            "reopened",
            "access_code",
        )
    },
    # Meta's webhook (/whatsapp/webhook/): the app secret its POSTs are signed with, and the
    # token its subscription check (a GET) must bring.
    "APP_SECRET": env_str("WHATSAPP_APP_SECRET", "sandbox-app-secret" if WHATSAPP_SANDBOX else ""),
    "VERIFY_TOKEN": env_str(
        "WHATSAPP_VERIFY_TOKEN", "sandbox-verify-token" if WHATSAPP_SANDBOX else ""
    ),
    # The business's own number, digits with the country code: the click-to-chat link customers
    # write to it by (a first message confirms their number: tickets.delivery.recipients).
    "BUSINESS_NUMBER": "".join(
        digit
        for digit in env_str("WHATSAPP_BUSINESS_NUMBER", "60300000000" if WHATSAPP_SANDBOX else "")
        if digit.isdigit()
    ),
    "CONNECT_TIMEOUT": env_float("WHATSAPP_CONNECT_TIMEOUT", 5),
    "READ_TIMEOUT": env_float("WHATSAPP_READ_TIMEOUT", 20),
}
# A message to a person (an e-mail, a WhatsApp message) is tried this many times in all,
# waiting longer each time.
MESSAGE_MAX_ATTEMPTS = env_int("MESSAGE_MAX_ATTEMPTS", 8)
# The portal's public address, for the links in e-mails (status pages, the staff console).
PORTAL_URL = (env_str("PORTAL_URL") or ("http://127.0.0.1:8000" if DEBUG else "")).rstrip("/")

ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
# Files kept at once for customers correcting a form (each for a day at most): past this, a
# form sent back with an error offers no file again, so no one can fill the disk that way.
KEPT_UPLOADS_MAX = env_int("KEPT_UPLOADS_MAX", 100)
# ...and per client address in a day, so that one client cannot use up everyone's share.
KEPT_UPLOADS_PER_CLIENT = env_int("KEPT_UPLOADS_PER_CLIENT", 20)
# With JavaScript, a large photo is scaled in the customer's browser so that its long side is at
# most this many pixels, and re-encoded as a JPEG of about PHOTO_TARGET_BYTES, before it is sent:
# a 12 MP camera photo goes in seconds on mobile data instead of most of a minute.
# The server decodes no picture of more than its square (tickets/forms/image_metadata.py).
PHOTO_MAX_SIDE_PX = env_int("PHOTO_MAX_SIDE_PX", 2048)
PHOTO_TARGET_BYTES = env_int("PHOTO_TARGET_BYTES", 500 * 1024)
# "Your requests on this phone" forgets a request this many days after it was listed: a shared
# computer's browser does not show a customer's references for ever (0: no list at all).
MY_REQUESTS_KEEP_DAYS = env_int("MY_REQUESTS_KEEP_DAYS", 30)


# --- Map widget ----------------------------------------------------------------------------
# Tiles are the only thing the customer's browser fetches from elsewhere; without them the map
# still sets coordinates. Any XYZ tile server with the same URL shape works.
MAP_TILE_URL = env_str("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = env_str(
    "MAP_TILE_ATTRIBUTION",
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
)
# Where the map opens before a pin is dropped, for a provider that does not say (each provider
# names its own, e.g. Kuala Lumpur for StoreHub and Jakarta for OneCloud).
MAP_DEFAULT_CENTER = (env_float("MAP_DEFAULT_LAT", 3.1390), env_float("MAP_DEFAULT_LNG", 101.6869))
MAP_DEFAULT_ZOOM = env_int("MAP_DEFAULT_ZOOM", 11)


# --- Security ------------------------------------------------------------------------------
# Behind a TLS-terminating proxy, set SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto.
if proxy_header := env_str("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + proxy_header.upper().replace("-", "_"), "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
# The language switcher's choice: sent back on the site's own pages only, never read by scripts.
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_HTTPONLY = True
# The browser features a page may use: the map's "use my location" on this site, nothing else.
PERMISSIONS_POLICY = "geolocation=(self), camera=(), microphone=(), payment=(), usb=()"
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"


def _tile_origin(tile_url: str) -> str:
    """The CSP source for the tile server: ``https://{s}.tile.x/...`` -> ``https://*.tile.x``."""
    from urllib.parse import urlsplit

    parts = urlsplit(tile_url.replace("{s}.", "sub."))
    host = parts.netloc.replace("sub.", "*.", 1) if "{s}." in tile_url else parts.netloc
    return f"{parts.scheme}://{host}" if parts.scheme and host else ""


# Django's built-in CSP on every response, in DEBUG too, so the tests see what production sends.
# Scripts only from this site or with the per-request nonce; the tile server for images only.
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", *filter(None, [_tile_origin(MAP_TILE_URL)])],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# --- Abuse protection ----------------------------------------------------------------------
# The rate limit counts in Django's cache: Redis when REDIS_URL is set (shared by every web
# process), this process's memory otherwise.
if redis_url := env_str("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            # A Redis that is down or unreachable costs a post a second at most, not a hang.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Forms sent per client address per window (tickets/customer/rate_limit.py): an address may be
# shared by many customers behind a mobile carrier's NAT.
FORM_RATE_LIMIT = env_int("FORM_RATE_LIMIT", 30)
FORM_RATE_LIMIT_WINDOW_SECONDS = env_int("FORM_RATE_LIMIT_WINDOW_SECONDS", 600)
# Unusual volume (tickets/customer/volume.py): new requests to one provider in the last hour
# past which browsers are asked for a proof of work and requests sent without one are held for
# staff. 0: twice the provider's busiest hour of the last four weeks, never under the floor.
UNUSUAL_VOLUME_PER_HOUR = env_int("UNUSUAL_VOLUME_PER_HOUR", 0)
UNUSUAL_VOLUME_FLOOR = env_int("UNUSUAL_VOLUME_FLOOR", 30)
# Requests a day each provider is sent without a check by staff (0: no budget); past it, new
# requests are held for staff, never refused.
PROVIDER_DAILY_BUDGET = env_int("PROVIDER_DAILY_BUDGET", 0)
# The key that signs the proof-of-work challenges; empty: a key derived from SECRET_KEY.
PROOF_OF_WORK_KEY = env_str("PROOF_OF_WORK_KEY")
# How many proxies in front of the portal append to X-Forwarded-For (0: use REMOTE_ADDR), and
# the addresses they connect from: X-Forwarded-For is believed only from a peer in one of them,
# so a client that reaches gunicorn directly cannot choose its own address. Loopback only unless
# the operator names their proxy: any wider default would trust every neighbour on the network.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)


def _networks(name: str, default: str) -> list:
    try:
        return [ipaddress.ip_network(item) for item in env_list(name, default)]
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from exc


TRUSTED_PROXY_NETWORKS = _networks(
    "TRUSTED_PROXY_NETWORKS",
    "127.0.0.0/8,::1/128",
)
# The ages past which /healthz answers 503 (tickets/operations/health.py says when).
HEALTH_MAX_FORWARD_DELAY_SECONDS = env_float("HEALTH_MAX_FORWARD_DELAY_SECONDS", 300)
HEALTH_MAX_EMAIL_DELAY_SECONDS = env_float("HEALTH_MAX_EMAIL_DELAY_SECONDS", 900)
HEALTH_MAX_WORKER_SILENCE_SECONDS = env_float(
    "HEALTH_MAX_WORKER_SILENCE_SECONDS", max(300, 3 * OUTBOX_SWEEP_INTERVAL_SECONDS)
)
# A whole request (both files and the fields) may not exceed this; answered with HTTP 413.
REQUEST_MAX_BYTES = env_int("REQUEST_MAX_BYTES", 2 * ATTACHMENT_MAX_BYTES + 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # the non-file fields
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # larger uploads spool to a temporary file
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# django-axes: lock out an address + username after repeated failed admin logins.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 30) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "axes_locked_out.html"
AXES_CLIENT_IP_CALLABLE = "tickets.operations.client_address.client_ip"

# --- Metrics -------------------------------------------------------------------------------
# /metrics answers Prometheus with this bearer token, and nobody without it; unset, it is off.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")

# --- Privacy -------------------------------------------------------------------------------
# Submissions and their files are deleted this many days after they were made
# (`manage.py purge_expired_submissions`, run daily).
RETENTION_DAYS = env_int("RETENTION_DAYS", 365)
# Who runs the portal, as the footer of every page and the privacy notice (/privacy/) name them:
# Malaysia's PDPA and Indonesia's UU PDP expect customers to be told who holds their data and
# whom to ask about it. With DEBUG off a system check warns while they are empty; a local copy
# says "Kedai Contoh" ("sample shop").
OPERATOR_NAME = env_str("OPERATOR_NAME", "Kedai Contoh Sdn Bhd" if DEBUG else "")
OPERATOR_CONTACT = env_str("OPERATOR_CONTACT", "support@example.my" if DEBUG else "")
PRIVACY_CONTACT = env_str("PRIVACY_CONTACT", OPERATOR_CONTACT)

# --- Customer forms ------------------------------------------------------------------------
# The country assumed for a phone number typed without a country code ("012-345 6789"), as an
# ISO 3166 region code; numbers are stored as digits with their country code ("60123456789").
PHONE_DEFAULT_REGION = env_str("PHONE_DEFAULT_REGION", "MY").upper()


# --- The staff's second factor ------------------------------------------------------------
# A staff password alone opens every customer's data: with this on, no console page opens
# before an authenticator app's code, a passkey or a recovery code (docs/staff.md). On unless
# DEBUG, so that `make superuser` and `make run` work on a laptop with a password alone.
STAFF_SECOND_FACTOR_REQUIRED = env_bool("STAFF_SECOND_FACTOR_REQUIRED", not DEBUG)
# The name an authenticator app and a passkey prompt show for the console.
OTP_TOTP_ISSUER = OPERATOR_NAME or "Support portal"
OTP_WEBAUTHN_RP_NAME = OTP_TOTP_ISSUER
# Passkeys as a second factor only, after the password that django-axes guards.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
# A passkey belongs to the host the console is opened at, and is checked against that origin,
# which ALLOWED_HOSTS has vetted: no list of origins to keep in step with PORTAL_URL.
OTP_WEBAUTHN_RP_ID_CALLABLE = "tickets.admin.second_factor.passkeys.relying_party_id"
OTP_WEBAUTHN_HELPER_CLASS = "tickets.admin.second_factor.passkeys.PasskeyHelper"
SILENCED_SYSTEM_CHECKS = ["otp_webauthn.E030"]  # "no OTP_WEBAUTHN_ALLOWED_ORIGINS": see above
# Wrong codes in a row lock a device for 1, 2, 4, 8... seconds (django-otp's throttling).
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1

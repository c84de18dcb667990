"""A bare Django app, the benchmark's baseline: a 3-field form page and a view inserting one row.

Production-like, as the portal runs in the benchmark: DEBUG off, SQLite, gunicorn, Django's
default middleware (security, sessions, CSRF, auth, messages, clickjacking).
"""

import os
from pathlib import Path

SECRET_KEY = "bench-only-" + "b" * 40
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.bare.urls"
WSGI_APPLICATION = "bench.bare.wsgi.application"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "bench.bare",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).parent],
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
# Django's own SQLite settings, as a bare app ships them: every commit on the disk before the
# answer (a rollback journal, synchronous=FULL), as the portal's are (WAL, synchronous=FULL).
# With BARE_SQLITE_AS_PORTAL=1 it takes the portal's settings instead (WAL, the write lock taken
# at the start of each transaction, kept connections): the second baseline, which leaves only
# the portal's own work between the two figures.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["BARE_DATABASE"],  # bench/web.py puts it in the run's folder
    }
}
if os.environ.get("BARE_SQLITE_AS_PORTAL") == "1":
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True

"""A bare Django app, the benchmark's baseline: a 3-field form page and a view inserting one row.

Production-like, as the portal runs in the benchmark: DEBUG off, gunicorn, Django's default
middleware (security, sessions, CSRF, auth, messages, clickjacking).
"""

import os
from pathlib import Path

import dj_database_url

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
# The database as Django ships it: SQLite with Django's own settings (a rollback journal,
# synchronous=FULL: every commit on the disk before the answer, as the portal's), or PostgreSQL
# with a connection per request. bench/web.py puts it in the run's folder or a fresh database.
DATABASES = {"default": dj_database_url.parse(os.environ["BARE_DATABASE_URL"])}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True

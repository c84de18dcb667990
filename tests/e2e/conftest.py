"""Browser tests: headless Chromium against pytest-django's live server, offline but for it.

Static files are served as in production: collected with hashed names and gzip copies, and served
by WhiteNoise with immutable caching, so the page-weight test measures what customers download.
"""

import os

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.test.utils import override_settings
from playwright import sync_api

from .helpers import CHROMIUM, CHROMIUM_ARGS, Browsing


@pytest.fixture(scope="package")
def browser():
    # A missing browser fails the run rather than skipping it: `make test` installs it.
    if not CHROMIUM.exists():
        pytest.fail("Chromium is not installed at /usr/bin/chromium: run `make browser`.")
    # Playwright's sync API runs an event loop in the test thread; Django's ORM would refuse to
    # run beside it without this (the calls are still synchronous). Set only while the browser
    # tests run, so no other test's subprocess inherits it.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="package")
def production_static(tmp_path_factory):
    """Collect static files as production does and have WhiteNoise serve them."""
    static_root = tmp_path_factory.mktemp("staticfiles")
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    production = override_settings(
        STATIC_ROOT=static_root,
        STORAGES=storages,
        WHITENOISE_AUTOREFRESH=False,
        WHITENOISE_USE_FINDERS=False,
    )
    production.enable()
    call_command("collectstatic", interactive=False, verbosity=0)
    yield static_root
    production.disable()


@pytest.fixture(scope="package")
def live_server(live_server, production_static):
    """pytest-django's live server, with static files served by WhiteNoise, not by Django.

    pytest-django wraps the site in StaticFilesHandler, which serves static files uncompressed
    and without cache headers; a fresh WSGIHandler runs the real middleware stack instead.
    """
    server = live_server.thread.httpd
    original = server.get_app()
    server.set_app(WSGIHandler())
    yield live_server
    server.set_app(original)


@pytest.fixture
def portal(live_server, settings):
    # Every test posts from the same address; the form rate limit is tested elsewhere.
    settings.FORM_RATE_LIMIT = 10_000
    return live_server


@pytest.fixture
def browsing(browser, portal):
    session = Browsing(browser, portal.url)
    yield session
    session.close()

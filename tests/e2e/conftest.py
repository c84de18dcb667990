"""Browser tests: headless Chromium against pytest-django's live server, offline but for it.

Static files are served as in production: collected with hashed names, gzip copies and the
portal's own scripts minified (portal/staticfiles.py), and served by WhiteNoise with immutable
caching, so the page-weight test measures what customers download.
"""

import os
import threading
import time

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.test.utils import override_settings
from playwright import sync_api

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, Browsing


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
        "staticfiles": {"BACKEND": "portal.staticfiles.MinifiedManifestStaticFilesStorage"},
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


class RequestsInFlight:
    """The site, counting the requests it is still answering.

    A page closed at a test's end can leave a send the server is still writing; emptying the
    database under it deadlocks on PostgreSQL, so each test waits for the server to be idle.
    """

    def __init__(self, app) -> None:
        self.app = app
        self.answering = 0
        self.changed = threading.Condition()

    def __call__(self, environ, start_response):
        self._count(+1)
        try:
            return self.app(environ, start_response)
        finally:
            self._count(-1)

    def _count(self, step: int) -> None:
        with self.changed:
            self.answering += step
            self.changed.notify_all()

    def wait_until_idle(self, *, quiet_for: float = 0.3, longest: float = 60.0) -> None:
        """Until no request has started or ended for ``quiet_for`` seconds: a request the browser
        sent just before its page closed may reach the server a moment later."""
        deadline = time.monotonic() + longest
        with self.changed:
            while (left := deadline - time.monotonic()) > 0:
                if self.answering:
                    self.changed.wait(left)
                elif not self.changed.wait(min(quiet_for, left)) and not self.answering:
                    return
        pytest.fail(f"The live server was still answering {self.answering} request(s).")


@pytest.fixture(scope="package")
def live_server(live_server, production_static):
    """pytest-django's live server, with static files served by WhiteNoise, not by Django.

    pytest-django wraps the site in StaticFilesHandler, which serves static files uncompressed
    and without cache headers; a fresh WSGIHandler runs the real middleware stack instead.
    """
    server = live_server.thread.httpd
    original = server.get_app()
    site = RequestsInFlight(WSGIHandler())
    server.set_app(site)
    live_server.requests_in_flight = site
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
    portal.requests_in_flight.wait_until_idle()

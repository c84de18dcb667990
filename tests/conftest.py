import json
import os
import tempfile
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import translation
from django.utils.module_loading import import_string

from tests.providers import declared, provider_test_packages
from tests.support.mail import start_smtp_server
from tests.support.recipients import confirm_the_usual_customers
from tickets.delivery.whatsapp.sandbox import WhatsAppSandbox
from tickets.sandbox.server import start_in_thread

# The portal as deployed: DEBUG off, behind a TLS proxy, every provider and the mail server set.
# `manage.py check --deploy --fail-level WARNING` passes with these alone; a test that needs one
# of them missing or wrong changes just that one (an empty value means unset).
PRODUCTION_ENVIRONMENT = {
    "DEBUG": "0",
    "SANDBOX": "0",
    "SECRET_KEY": "production-like-key-" + "k" * 40,
    "ALLOWED_HOSTS": "support.example.my",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "EMAIL_HOST": "smtp.example.my",
    "PORTAL_URL": "https://support.example.my",
    "STAFF_ALERT_EMAILS": "support@example.my",
    "OPERATOR_NAME": "Example Support Sdn Bhd",
    "PRIVACY_CONTACT": "privacy@example.my",
    # Every provider's own, as its test package declares them.
    **{
        name: value
        for alias in provider_test_packages()
        for name, value in declared(alias).PRODUCTION_SETTINGS.items()
    },
}


@pytest.fixture(scope="session")
def django_db_modify_db_settings():
    """One test database per test process, so that runs side by side (and xdist's workers)
    never drop each other's: for SQLite a file, not Django's in-memory default, so that a worker
    process a test starts can share it."""
    database = django_settings.DATABASES["default"]
    if "sqlite" in database["ENGINE"]:
        name = str(Path(tempfile.gettempdir()) / f"portal-test-{os.getpid()}.sqlite3")
    else:
        name = f"test_{database['NAME']}_{os.getpid()}"
    database.setdefault("TEST", {})["NAME"] = name


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the default language. Django keeps a thread's language after a
    request, so a page asked for in Malay would otherwise leave Malay on for the next test."""
    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


class Sandbox:
    """A loopback provider pair (tickets.sandbox) that tests can script and inspect."""

    def __init__(self, server) -> None:
        self.server = server
        self.url = server.url
        self.state = server.state

    def script(self, provider: str, *outcomes: str) -> None:
        self.state.script(provider, list(outcomes))

    def endpoints(self, provider: str):
        """One provider's fake endpoints, with what they have issued (tickets, tokens)."""
        return self.server.endpoints[provider]

    def requests(self, provider: str) -> list[dict]:
        return [r for r in self.state.requests if r["provider"] == provider]

    def created(self, provider: str) -> list[dict]:
        return self.state.created(provider)

    def http_get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=5) as response:  # noqa: S310
            return json.loads(response.read())


@pytest.fixture
def sandbox(settings):
    """Every registered provider pointed at its own fake endpoints on a loopback port."""
    endpoints = {
        alias: import_string(entry["BACKEND"]).sandbox_class
        for alias, entry in settings.TICKET_PROVIDERS.items()
    }
    # The fake Cloud API too, used once a test turns WhatsApp on (``whatsapp``).
    server = start_in_thread(endpoints={**endpoints, "whatsapp": WhatsAppSandbox})
    settings.TICKET_PROVIDERS = {
        alias: {
            **entry,
            "OPTIONS": {
                **entry["OPTIONS"],
                **endpoints[alias].portal_options(f"{server.url}/{alias}"),
                "connect_timeout": 2,
                "read_timeout": 1,
            },
        }
        for alias, entry in settings.TICKET_PROVIDERS.items()
    }
    # The sandbox is plain http on loopback, as in DEBUG.
    settings.PROVIDER_ALLOW_HTTP_ON_LOOPBACK = True
    settings.FORWARD_RETRY_FIRST_WAITS = [0]
    settings.FORWARD_RATE_LIMIT_BASE_SECONDS = 0
    settings.OUTBOX_CONFIG_RETRY_SECONDS = 3600
    yield Sandbox(server)
    server.shutdown()
    server.server_close()


@pytest.fixture
def whatsapp(sandbox, settings):
    """WhatsApp on, at the sandbox's fake Cloud API, every template named; the fake's
    endpoints (``sent``: the messages it took)."""
    settings.WHATSAPP = {
        **settings.WHATSAPP,
        **WhatsAppSandbox.portal_options(f"{sandbox.url}/whatsapp"),
        "TEMPLATES": {kind: f"portal_{kind}" for kind in settings.WHATSAPP["TEMPLATES"]},
        "CONNECT_TIMEOUT": 2,
        "READ_TIMEOUT": 1,
    }
    return sandbox.endpoints("whatsapp")


@pytest.fixture
def confirmed_customers(db):
    """The usual customers' addresses and numbers confirmed by their owners, so that every
    message flows (``tickets.delivery.recipients``) in tests about something else."""
    confirm_the_usual_customers()


@pytest.fixture
def run_worker():
    """Run the real worker until no task is ready, as a deployed worker would."""

    def run(max_tasks: int = 50) -> None:
        # Bounded, so that a bug that re-queues forever fails the test instead of hanging it.
        call_command(
            "worker",
            batch=True,
            max_tasks=max_tasks,
            reload=False,
            startup_delay=False,
            verbosity=0,
        )

    return run


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback, and the portal's mailer pointed at it."""
    controller, catcher = start_smtp_server()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": controller.port, "timeout": 5},
        }
    }
    yield catcher
    controller.stop()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Every test starts with an empty cache, so no test inherits another's rate-limit count."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """Passwords made in tests are hashed in a millisecond, not the 0.4 s of the real PBKDF2 hash:
    a hundred tests make a staff account. No test is about the hash; hashes made the real way
    (by a process a test starts) still check, and those processes hash the real way."""
    from django.test.utils import override_settings

    fast = "django.contrib.auth.hashers.MD5PasswordHasher"
    with override_settings(PASSWORD_HASHERS=[fast, *django_settings.PASSWORD_HASHERS]):
        yield


def pytest_collection_modifyitems(items):
    """The longest tests start first: under xdist each worker takes the next test as it finishes
    one, so a long test started last would keep one worker busy while the others sit idle. The
    browser tests stay together, so each worker starts Chromium once. The sort is stable:
    pytest-django's order (database tests, then transactional ones, then the rest) holds within
    each tier."""

    def tier(item) -> int:
        for rank, marker in enumerate(("slow", "e2e", "system")):
            if item.get_closest_marker(marker):
                return rank
        return 3

    items.sort(key=tier)


def pytest_xdist_auto_num_workers(config):
    """Workers for ``-n auto``: two a core, since many tests spend much of their time waiting on
    a browser, a server they started or a provider's delay rather than on the processor.
    PYTEST_XDIST_AUTO_NUM_WORKERS still chooses."""
    import os

    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # pytest-xdist's own hook reads it
    return 2 * len(os.sched_getaffinity(0))

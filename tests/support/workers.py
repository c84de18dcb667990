"""Real ``worker`` processes for the tests, on the test database, against the test's sandbox."""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string

from tickets.providers.settings import setting_variable

ROOT = Path(__file__).resolve().parents[2]


def database_url_of_the_test_database() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    credentials = quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"])
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{db['NAME']}"


def start_worker(sandbox, worker_id: str, log_dir: Path, **environment: str) -> subprocess.Popen:
    """A ``worker`` forwarding to the sandbox's providers, as deployed.

    ``environment`` overrides settings (e.g. ``FORWARD_LEASE_SECONDS="2"``); by default the
    retries wait nothing, so a test does not sit through the real back-off.
    """
    env = {
        **os.environ,
        "DEBUG": "1",
        "SANDBOX": "0",
        "DATABASE_URL": database_url_of_the_test_database(),
        **sandbox_environment(sandbox.url),
        "PROVIDER_READ_TIMEOUT": "60",
        "OUTBOX_SWEEP_INTERVAL_SECONDS": "0.5",
        "FORWARD_RETRY_FIRST_WAITS": "0",
        "LOG_LEVEL": "INFO",
        **environment,
    }
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "worker",
            "--interval=0.1",
            "--no-startup-delay",
            "--no-reload",
            f"--worker-id={worker_id}",
        ],
        cwd=ROOT,
        env=env,
        stdout=(log_dir / f"worker-{worker_id}.log").open("w"),
        stderr=subprocess.STDOUT,
    )


def sandbox_environment(sandbox_url: str) -> dict[str, str]:
    """Every provider's environment variables pointing it at its endpoints of the sandbox
    mounted at ``sandbox_url``, as its ``portal_options`` say."""
    environment = {}
    for alias, entry in settings.TICKET_PROVIDERS.items():
        provider_class = import_string(entry["BACKEND"])
        options = provider_class.sandbox_class.portal_options(f"{sandbox_url}/{alias}")
        for name, value in options.items():
            environment[setting_variable(provider_class.settings_prefix, name)] = str(value)
    return environment


def wait_for(predicate, seconds: float = 30, *, what: str = "condition"):
    """Poll ``predicate`` until it is truthy (a bound, so a bug fails the test, not hangs it).

    Polled from Python, so it also serves the browser tests: the pages' CSP forbids the string
    waits Playwright would use.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached after {seconds:.0f} s")

"""Real ``db_worker`` processes for the tests, on the test database, against the test's sandbox."""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url_of_the_test_database() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    credentials = quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"])
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{db['NAME']}"


def start_worker(sandbox, worker_id: str, log_dir: Path, **environment: str) -> subprocess.Popen:
    """A ``db_worker`` forwarding to the sandbox's StoreHub and OneCloud, as deployed.

    ``environment`` overrides settings (e.g. ``FORWARD_LEASE_SECONDS="2"``); by default the
    retries wait nothing, so a test does not sit through the real back-off.
    """
    env = {
        **os.environ,
        "DEBUG": "1",
        "SANDBOX": "0",
        "DATABASE_URL": database_url_of_the_test_database(),
        "STOREHUB_URL": f"{sandbox.url}/storehub",
        "STOREHUB_API_KEY": "tk_worker_test",
        "ONECLOUD_URL": f"{sandbox.url}/onecloud",
        "ONECLOUD_TOKEN_URL": f"{sandbox.url}/onecloud/api/token",
        "ONECLOUD_USERNAME": "portal",
        "ONECLOUD_PASSWORD": "worker-test",
        "PROVIDER_READ_TIMEOUT": "60",
        "FORWARD_SWEEP_INTERVAL_SECONDS": "0.5",
        "FORWARD_RETRY_FIRST_WAITS": "0",
        "LOG_LEVEL": "INFO",
        **environment,
    }
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
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

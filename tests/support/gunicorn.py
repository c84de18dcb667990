"""The portal under gunicorn with production settings, on the test database, for system tests
that need a real server: its memory, its sockets, bodies that arrive cut short."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.conftest import PRODUCTION_ENVIRONMENT
from tests.support.mail import free_port
from tests.support.workers import database_url_of_the_test_database

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Server:
    port: int
    pid: int  # gunicorn's master
    media: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def production_gunicorn(tmp_path: Path, *, threads: int) -> Iterator[Server]:
    """One gunicorn worker with ``threads`` threads, OneCloud's form on, no rate limit, plain
    http from the test straight to gunicorn."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE"))},
        **PRODUCTION_ENVIRONMENT,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": database_url_of_the_test_database(),
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "ENABLED_PROVIDERS": "onecloud",
        "FORM_RATE_LIMIT": "1000000",
        "UNUSUAL_VOLUME_PER_HOUR": "1000000",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": str(threads),
        "LOG_LEVEL": "WARNING",
    }
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collected.returncode == 0, collected.stderr
    log = tmp_path / "gunicorn.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(port=port, pid=process.pid, media=tmp_path / "media")
    deadline = time.monotonic() + 60
    while not answers(server.base + "/healthz/web"):
        if time.monotonic() > deadline or process.poll() is not None:
            raise AssertionError(log.read_text()[-3000:])
        time.sleep(0.2)
    try:
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False

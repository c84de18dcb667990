"""Compose's front, deploy/Caddyfile, run here with Debian's Caddy in front of one gunicorn."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.fronts import assert_compressed_where_safe
from tests.support.mail import free_port
from tests.support.slow_clients import DrippingClients, form_page_times, p95

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.system


def caddyfile_for(caddy: str, tmp_path: Path) -> Path:
    """The shipped Caddyfile, for the Caddy here: Debian's 2.6 spells request buffering
    ``buffer_requests`` (whole bodies), the image's 2.7 and later ``request_buffers <size>``."""
    text = (ROOT / "deploy" / "Caddyfile").read_text()
    version = subprocess.run([caddy, "version"], capture_output=True, text=True).stdout
    if re.match(r"v?2\.[0-6]\.", version):
        text, replaced = re.subn(r"request_buffers \S+", "buffer_requests", text)
        assert replaced == 1
    path = tmp_path / "Caddyfile"
    path.write_text(text)
    return path


def wait_until_answering(url: str, processes: list[subprocess.Popen], logs: list[Path]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            raise AssertionError("\n".join(log.read_text()[-2000:] for log in logs))
        time.sleep(0.2)


@pytest.fixture
def compose_front(tmp_path):
    caddy = shutil.which("caddy")
    if not caddy:
        pytest.fail("Caddy is not installed: `make test` installs it (scripts/install-fronts.sh).")
    web_port, front_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE"))},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DEBUG": "1",
        "SANDBOX": "0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        "PORT": str(web_port),
        # gunicorn's smallest layout (one process, two threads): the front must do the waiting.
        "WEB_CONCURRENCY": "1",
        "TRUSTED_PROXY_COUNT": "1",
        "ENABLED_PROVIDERS": "onecloud",
        "ONECLOUD_URL": "http://127.0.0.1:9/onecloud",
        "ONECLOUD_TOKEN_URL": "http://127.0.0.1:9/onecloud/api/token",
        "ONECLOUD_USERNAME": "portal",
        "ONECLOUD_PASSWORD": "compose-front",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    front_env = {
        **env,
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PORTAL_HOST": f"http://127.0.0.1:{front_port}",
        "WEB_HOST": "localhost",
        "WEB_PORT": str(web_port),
        "CADDY_ADMIN": "off",
    }
    logs = [tmp_path / "web.log", tmp_path / "front.log"]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "-c", "gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=logs[0].open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        ),
        subprocess.Popen(
            [
                caddy,
                "run",
                "--config",
                str(caddyfile_for(caddy, tmp_path)),
                "--adapter",
                "caddyfile",
            ],
            cwd=tmp_path,
            env=front_env,
            stdout=logs[1].open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        ),
    ]
    base = f"http://127.0.0.1:{front_port}"
    try:
        wait_until_answering(base + "/healthz/web", processes, logs)
        yield base
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)


def test_sixty_slow_clients_do_not_starve_the_form_page_behind_caddy(compose_front):
    """Each dripping connection would hold one of gunicorn's two threads; Caddy holds them."""
    assert (
        requests.get(compose_front + "/onecloud/", timeout=5).headers["Server"].startswith("Caddy")
    )

    with DrippingClients(compose_front, 60) as attack:
        times = form_page_times(compose_front + "/onecloud/", 20)
        assert attack.still_dripping == 60

    print(f"form page beside 60 dripping clients, compose's front: p95 {p95(times):.3f} s")


def test_caddy_compresses_the_form_page_but_not_the_console_nor_find(compose_front):
    assert (
        requests.get(compose_front + "/onecloud/", timeout=5).headers["Server"].startswith("Caddy")
    )
    assert_compressed_where_safe(compose_front, "/onecloud/")

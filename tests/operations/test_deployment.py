"""What the Dockerfile runs, run here: collectstatic, check --deploy, gunicorn behind a proxy."""

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import requests

from tests.conftest import PRODUCTION_ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.system]


def production_env(tmp_path: Path) -> dict[str, str]:
    keep = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SANDBOX", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return {
        **keep,
        **PRODUCTION_ENVIRONMENT,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "media"),
    }


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str, headers: dict[str, str], *, stream: bool = False) -> requests.Response:
    return requests.get(url, headers=headers, timeout=10, allow_redirects=False, stream=stream)


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("production")
    env = production_env(tmp_path)
    for command in (["collectstatic", "--noinput"], ["migrate", "--noinput"]):
        result = manage(env, *command)
        assert result.returncode == 0, result.stderr
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz/web", timeout=1)  # noqa: S310
            break
        except OSError:
            time.sleep(0.2)
    yield env, base
    server.terminate()
    server.wait(timeout=10)


def test_check_deploy_reports_nothing_under_production_settings(production):
    env, _ = production
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_gunicorn_serves_pages_with_every_security_header(production):
    _, base = production
    https = {"Host": "support.example.my", "X-Forwarded-Proto": "https"}

    response = fetch(base + "/", https)

    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_plain_http_is_redirected_to_https_but_healthz_answers(production):
    _, base = production
    plain = fetch(base + "/", {"Host": "support.example.my"})
    assert plain.status_code == 301
    assert plain.headers["Location"] == "https://support.example.my/"

    web = fetch(base + "/healthz/web", {"Host": "10.0.0.5"})
    assert web.status_code == 200
    # No worker runs beside this gunicorn: "unhealthy", in a general word to whoever asks.
    health = fetch(base + "/healthz", {"Host": "10.0.0.5"})
    assert health.status_code == 503
    assert health.json() == {"status": "error", "problems": ["degraded"]}


def test_static_files_are_hashed_compressed_and_cached_for_long(production):
    env, base = production
    manifest = (Path(env["STATIC_ROOT"]) / "staticfiles.json").read_text()
    hashed_css = next(
        name
        for name in json.loads(manifest)["paths"].values()
        if name.startswith("vendor/bootstrap/css/bootstrap.min.") and name.endswith(".css")
    )
    response = fetch(
        f"{base}/static/{hashed_css}",
        {"Host": "support.example.my", "X-Forwarded-Proto": "https", "Accept-Encoding": "gzip"},
        stream=True,
    )

    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "immutable" in response.headers["Cache-Control"]
    assert "max-age=315360000" in response.headers["Cache-Control"]


def test_the_portals_own_scripts_are_served_minified_under_the_hash_of_what_is_served(
    production,
):
    _, base = production
    https = {"Host": "support.example.my", "X-Forwarded-Proto": "https"}
    page = fetch(base + "/storehub/", https).text
    scripts = re.findall(r'<script src="/static/(tickets/[\w.-]+\.js)"', page)
    assert {name.split(".")[0] for name in scripts} >= {
        "tickets/location_map",
        "tickets/phone",
        "tickets/request_form",
    }

    for name in scripts:
        stem, digest, _ = name.rsplit(".", 2)
        served = fetch(f"{base}/static/{name}", {**https, "Accept-Encoding": "identity"}).content
        source = (ROOT / "static" / f"{stem}.js").read_bytes()
        # The repository keeps the readable script; customers download it without its comments
        # and indentation.
        comments = re.findall(rb"^\s*// (.{16,})$", source, re.M)
        assert comments, name
        assert not [comment for comment in comments if comment in served], name
        assert b"\n  " not in served, name
        assert len(served) < 0.8 * len(source), (name, len(served), len(source))
        # Named by the hash of what is served: a changed script reaches phones under a new name.
        assert hashlib.md5(served, usedforsecurity=False).hexdigest()[:12] == digest, name


def test_gunicorn_refuses_to_start_without_a_provider_setting(tmp_path):
    env = {**production_env(tmp_path), "STOREHUB_API_KEY": ""}
    port = free_port()

    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "StoreHub: STOREHUB_API_KEY is not set." in result.stderr

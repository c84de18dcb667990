"""The form page beside 60 slow clients, each dripping a form body one byte a second.

- baseline: the page through the one-machine command (nginx in front of gunicorn and the
  worker, scripts/one-machine.sh) with no slow clients;
- front:    the same, beside the 60 slow clients;
- alone:    gunicorn as the image ran it before it had a front, beside the same clients: how many
            page loads got no answer within GIVE_UP seconds.
gunicorn has the image's defaults (3 processes x 2 threads) throughout.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from bench.web import free_port, portal_env
from tests.support.slow_clients import DrippingClients, form_page_times

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 60
SAMPLES = int(os.environ.get("BENCH_SLOW_CLIENT_SAMPLES", "20"))
GIVE_UP = 5.0


def one_machine_env(workdir: Path, database: str) -> dict:
    """The portal as `scripts/one-machine.sh` runs it (its own layout of processes), on the
    SQLite file ``database`` in ``workdir``."""
    env = portal_env(workdir)
    for layout_setting in ("WEB_CONCURRENCY", "GUNICORN_THREADS"):
        env.pop(layout_setting)
    return {
        **env,
        "DATABASE_URL": f"sqlite:///{workdir / database}",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}:/usr/sbin",
        "PORT": str(free_port()),
        "WEB_PORT": str(free_port()),
    }


def start_server(command: list[str], env: dict, log: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    for _ in range(600):
        try:
            if requests.get(base + "/healthz/web", timeout=1).status_code == 200:
                return process, base
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.1)
    raise SystemExit(f"{command[0]} did not start; see {log}")


def stop_server(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def _answered_in_time(url: str, samples: int) -> int:
    answered = 0
    for _ in range(samples):
        with contextlib.suppress(requests.Timeout):
            answered += requests.get(url, timeout=GIVE_UP).status_code == 200
    return answered


def slow_clients(workdir: Path) -> dict:
    env = one_machine_env(workdir, "slow-clients.sqlite3")
    one_machine, base = start_server(
        ["sh", "scripts/one-machine.sh"], env, workdir / "one-machine.log"
    )
    try:
        form = base + "/storehub/"
        form_page_times(form, 10)  # warm up every process
        quiet = form_page_times(form, SAMPLES)
        with DrippingClients(base, CLIENTS, path="/storehub/"):
            busy = form_page_times(form, SAMPLES)
    finally:
        stop_server(one_machine)

    gunicorn = [
        sys.executable,
        "-m",
        "gunicorn",
        "portal.wsgi:application",
        "-c",
        "gunicorn.conf.py",
    ]
    alone, base = start_server(gunicorn, env, workdir / "gunicorn-alone.log")
    try:
        with DrippingClients(base, CLIENTS, path="/storehub/"):
            answered = _answered_in_time(base + "/storehub/", SAMPLES // 4)
    finally:
        stop_server(alone)
    return {"quiet": quiet, "busy": busy, "alone_answered": answered, "alone_tried": SAMPLES // 4}

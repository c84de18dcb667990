"""PostgreSQL stopped for 20 s under a running web and worker, with forwards in flight, then
started again: every request is delivered after it is back, the worker never exits, nothing is
restarted by hand, and a ticket created twice is flagged for staff. During the outage the
customer gets a page that says so (503), not a server error.

A throw-away cluster (``initdb`` into a temporary folder, ``pg_ctl`` to stop and start it; as
root through ``runuser -u postgres``), so the test database of the run is never touched.
"""

import contextlib
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
import requests

from tests.support.mail import free_port
from tests.support.workers import ROOT, sandbox_environment, start_worker, wait_for

POSTGRES_BIN = next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)), "")
OUTAGE_SECONDS = 20
REQUESTS = 6

pytestmark = [
    pytest.mark.system,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (POSTGRES_BIN or shutil.which("initdb")),
        reason="no PostgreSQL server programs (initdb, pg_ctl) on this machine",
    ),
    pytest.mark.skipif(
        "os.environ.get('DATABASE_URL', '').startswith('postgres')",
        reason="runs once, in the SQLite pass: it brings its own PostgreSQL",
    ),
]


class ThrowAwayPostgres:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        command = [os.path.join(POSTGRES_BIN, program) if POSTGRES_BIN else program, *args]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def create(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def statuses(self) -> list[tuple[str, bool, int]]:
        with psycopg.connect(self.url, connect_timeout=2) as connection:
            return connection.execute(
                "SELECT status, possible_duplicate, jsonb_array_length(extra_tickets::jsonb)"
                " FROM tickets_submission"
            ).fetchall()


@pytest.fixture
def postgres():
    # Not pytest's tmp_path: the postgres user must reach it, and a socket path stays short.
    folder = Path(tempfile.mkdtemp(prefix="portal-outage-"))
    server = ThrowAwayPostgres(folder)
    server.create()
    yield server
    with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
        server.stop()
    shutil.rmtree(folder, ignore_errors=True)


def portal_environment(sandbox, postgres: ThrowAwayPostgres, tmp_path: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE"))},
        "DEBUG": "1",  # plain http to the loopback sandbox
        "SANDBOX": "0",
        "DATABASE_URL": postgres.url,
        "DATABASE_CONN_MAX_AGE": "60",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "FORM_RATE_LIMIT": "1000",
        "LOG_LEVEL": "WARNING",
        **sandbox_environment(sandbox.url),
    }


def send_a_request(base: str, number: int) -> requests.Response:
    session = requests.Session()
    page = session.get(f"{base}/storehub/", timeout=10).text
    token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    form_token = page.split('name="form_token" value="', 1)[1].split('"', 1)[0]
    return session.post(
        f"{base}/storehub/",
        {
            "csrfmiddlewaretoken": token,
            "form_token": form_token,
            "name": f"Shop {number}",
            "phone": "012-345 6789",
            "issue": "*Onsite Support",
            "priority": "0",
            "address": "23, Jalan Ampang, 55000 KL",
            "state": "Kuala Lumpur",
            "service_id": "1",
            "latitude": "3.1573",
            "longitude": "101.7122",
        },
        headers={"Referer": f"{base}/storehub/"},
        allow_redirects=False,
        timeout=30,
    )


def test_a_database_outage_under_forwards_in_flight_loses_nothing(sandbox, postgres, tmp_path):
    env = portal_environment(sandbox, postgres, tmp_path)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi:application", "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1"},
        stdout=(tmp_path / "web.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    worker = start_worker(sandbox, "outage", tmp_path, **env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base), 60, what="the web")
        # Each forward takes 3 s at the provider: some are on the wire when the database stops.
        sandbox.script("storehub", *["success;delay=3"] * REQUESTS)
        sent = [send_a_request(base, number) for number in range(REQUESTS)]
        assert [response.status_code for response in sent] == [302] * REQUESTS
        status_page = base + sent[0].headers["Location"]

        time.sleep(1.5)
        postgres.stop()
        stopped = time.monotonic()
        # (The empty form is served from memory and still answers.)
        pages = (status_page, status_page.rstrip("/") + ".json")
        during = [requests.get(page, timeout=30) for page in pages]
        assert [response.status_code for response in during] == [503, 503]
        assert "We cannot take requests right now" in during[0].text
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
        assert worker.poll() is None, "the worker exited during the outage"
        postgres.start()
        back = time.monotonic()

        wait_for(
            lambda: [status for status, *_ in _or_empty(postgres)] == ["sent"] * REQUESTS,
            120,
            what="every request sent",
        )
        print(f"\nall {REQUESTS} sent {time.monotonic() - back:.1f} s after the database came back")
        assert worker.poll() is None
        rows = postgres.statuses()
        flagged = sum(1 for _status, duplicate, extra in rows if duplicate or extra)
        tickets = len(sandbox.created("storehub"))
        # A ticket created twice (its answer lost to the outage) is always flagged for staff.
        assert REQUESTS <= tickets <= REQUESTS + flagged
        assert requests.get(status_page, timeout=10).status_code == 200
        # The web logged the outage once and its end once, and never a customer's link.
        web_log = (tmp_path / "web.log").read_text()
        assert web_log.count("the database cannot be reached") == 1, web_log
        assert "2 requests were answered 503 meanwhile" in web_log, web_log
        assert sent[0].headers["Location"] not in web_log
    finally:
        for process in (web, worker):
            process.terminate()
            process.wait(timeout=30)


def _answers(base: str) -> bool:
    try:
        return requests.get(base + "/healthz/web", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _or_empty(postgres: ThrowAwayPostgres) -> list:
    try:
        return postgres.statuses()
    except psycopg.OperationalError:
        return []

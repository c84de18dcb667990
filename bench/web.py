"""Web throughput against a bare Django app, both under gunicorn with production settings.

(a) the form page (GET) and (b) submit (POST, one stored row each) of the portal's StoreHub form
and of a bare Django app (bench/bare: a 3-field form page and a view inserting one row), both
with 2 gunicorn workers, SQLite and DEBUG off, loaded with wrk on loopback for a fixed time,
interleaved round by round. Correctness is checked inside: rows added = redirects counted.

Submit has two baselines: the bare app as Django ships it (the target's), and the bare app with
the portal's SQLite settings (WAL, kept connections), so that what is left between that one and
the portal is the portal's own work: validating more fields, writing the request and its forward.
"""

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import requests

ROOT = Path(__file__).resolve().parent.parent
CSRF = "benchcsrf" + "0" * 23  # 32 characters: a CSRF secret both apps accept as cookie and field
SECONDS = os.environ.get("BENCH_WEB_SECONDS", "5")
CONNECTIONS = os.environ.get("BENCH_WEB_CONNECTIONS", "4")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def portal_env(workdir: Path) -> dict:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "0",
        "SANDBOX": "0",
        "SECRET_KEY": "bench-portal-" + "p" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": f"sqlite:///{workdir / 'web.sqlite3'}",
        "STATIC_ROOT": str(workdir / "static"),
        "MEDIA_ROOT": str(workdir / "web-media"),
        "ENABLED_PROVIDERS": "storehub",
        "STOREHUB_URL": "https://storehub.invalid",
        "STOREHUB_API_KEY": "tk_bench",
        "FORM_RATE_LIMIT": "1000000000",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "1",
        "LOG_LEVEL": "WARNING",
    }


def bare_env(workdir: Path, *, as_portal: bool = False) -> dict:
    """The bare app with Django's own SQLite settings, or ``as_portal`` with the portal's."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DJANGO_SETTINGS_MODULE": "bench.bare.settings",
        "PYTHONPATH": str(ROOT),
        "BARE_DATABASE": str(workdir / ("bare-as-portal.sqlite3" if as_portal else "bare.sqlite3")),
        "BARE_SQLITE_AS_PORTAL": "1" if as_portal else "0",
    }


def run(command: list[str], env: dict) -> str:
    return subprocess.run(
        command, cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def start_gunicorn(app: str, env: dict, port: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            app,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "1",
            "--access-logfile",
            "-" if False else "/dev/null",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=2)
            return process
        except requests.ConnectionError:
            time.sleep(0.1)
    raise SystemExit(f"gunicorn for {app} did not start; see {log}")


def wrk(url: str, env: dict | None = None, script: Path | None = None) -> tuple[float, int]:
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s"]
    if script:
        command += ["-s", str(script)]
    out = subprocess.run(
        [*command, url],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    redirects = re.search(r"REDIRECTS (\d+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"wrk saw {errors.group(1)} error responses from {url}:\n{out}")
    return rate, int(redirects.group(1)) if redirects else 0


def rows(database: Path, table: str) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608


def check_rows(added: int, redirects: int) -> None:
    """One stored row per redirect; wrk stops with up to one request per connection in flight,
    which the server finishes (stored) but wrk never counts."""
    if not (redirects > 0 and 0 <= added - redirects <= int(CONNECTIONS)):
        raise SystemExit(f"rows added ({added}) do not match the redirects ({redirects})")


def form_tokens(env: dict, count: int, path: Path) -> None:
    run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from tickets.forms.base import issue_form_token as t;"
            f"open({str(path)!r}, 'w').write(chr(10).join(t() for _ in range({count})))",
        ],
        env,
    )


def measure(workdir: Path, rounds: int) -> dict:
    """Interleaved rounds of the four loads; medians of requests per second."""
    from tests.support.factories import form_post

    if subprocess.run(["which", "wrk"], capture_output=True).returncode:
        raise SystemExit("wrk is missing: `make bench` installs it (apt-get install wrk)")
    portal, bare = portal_env(workdir), bare_env(workdir)
    bare_as_portal = bare_env(workdir, as_portal=True)
    run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], portal)
    run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], portal)
    for env in (bare, bare_as_portal):
        run([sys.executable, "-m", "django", "migrate", "--run-syncdb", "-v0"], env)
    portal_port, bare_port, bare_as_portal_port = free_port(), free_port(), free_port()
    servers = [
        start_gunicorn("portal.wsgi:application", portal, portal_port, workdir / "portal.log"),
        start_gunicorn("bench.bare.wsgi:application", bare, bare_port, workdir / "bare.log"),
        start_gunicorn(
            "bench.bare.wsgi:application",
            bare_as_portal,
            bare_as_portal_port,
            workdir / "bare-as-portal.log",
        ),
    ]
    script = ROOT / "bench" / "bare" / "post.lua"
    portal_body = urlencode(form_post("storehub", form_token=None))
    bare_body = urlencode({"name": "Siti", "email": "siti@example.my", "text": "POS swap"})
    figures: dict[str, list[float]] = {
        k: [] for k in ("bare_get", "portal_get", "bare_post", "bare_as_portal_post", "portal_post")
    }

    def bare_post(port: int, env: dict) -> float:
        database = Path(env["BARE_DATABASE"])
        before = rows(database, "bare_message")
        rate, redirects = wrk(
            f"http://127.0.0.1:{port}/", {"BENCH_CSRF": CSRF, "BENCH_BODY": bare_body}, script
        )
        check_rows(rows(database, "bare_message") - before, redirects)
        return rate

    try:
        for _ in range(rounds):
            figures["bare_get"].append(wrk(f"http://127.0.0.1:{bare_port}/")[0])
            figures["portal_get"].append(wrk(f"http://127.0.0.1:{portal_port}/storehub/")[0])
            figures["bare_post"].append(bare_post(bare_port, bare))
            figures["bare_as_portal_post"].append(bare_post(bare_as_portal_port, bare_as_portal))
            tokens = workdir / "tokens.txt"
            form_tokens(portal, 40_000, tokens)
            before = rows(workdir / "web.sqlite3", "tickets_submission")
            rate, redirects = wrk(
                f"http://127.0.0.1:{portal_port}/storehub/",
                {"BENCH_CSRF": CSRF, "BENCH_BODY": portal_body, "BENCH_TOKENS": str(tokens)},
                script,
            )
            check_rows(rows(workdir / "web.sqlite3", "tickets_submission") - before, redirects)
            figures["portal_post"].append(rate)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=20)
    return figures


def submit_latency(workdir: Path, sandbox, sends: int) -> dict:
    """(c) Submit latency with the provider answering at once, then in 2 s: it must not depend
    on the provider, whose call is made later by the worker. p50 of ``sends`` sequential sends
    each way, the worker running; DEBUG on for both (plain http to the loopback sandbox)."""
    from tests.support.factories import form_post

    env = {
        **portal_env(workdir),
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{workdir / 'latency.sqlite3'}",
        "STOREHUB_URL": f"{sandbox.url}/storehub",
        "PROVIDER_READ_TIMEOUT": "10",
    }
    run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env)
    port = free_port()
    web = start_gunicorn("portal.wsgi:application", env, port, workdir / "latency-web.log")
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "worker", "--no-reload", "--interval", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=(workdir / "latency-worker.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/storehub/"
    results = {}
    try:
        for label, outcome in (("at_once", "success"), ("in_2_s", "success;delay=2")):
            sandbox.state.script("storehub", [outcome] * (sends + 5))
            times = []
            for _ in range(sends):
                session = requests.Session()
                page = session.get(base, timeout=30).text
                fields = {
                    **form_post("storehub", form_token=None),
                    "csrfmiddlewaretoken": re.search(
                        r'name="csrfmiddlewaretoken" value="([^"]+)"', page
                    )[1],
                    "form_token": re.search(r'name="form_token" value="([^"]+)"', page)[1],
                }
                started = time.perf_counter()
                answer = session.post(base, data=fields, allow_redirects=False, timeout=30)
                times.append(time.perf_counter() - started)
                assert answer.status_code == 302, answer.status_code
            results[label] = sorted(times)[len(times) // 2]
            sandbox.state.reset()
    finally:
        for process in (web, worker):
            process.terminate()
            process.wait(timeout=20)
    return results


def forwarding_rate(workdir: Path, sandbox, count: int) -> dict | None:
    """(e) Forwards per second with one and with two workers on PostgreSQL, against a provider
    answering in 200 ms (5/s for one sequential caller): the rate, and each worker's share of
    what such a provider allows. None when no PostgreSQL answers."""
    import psycopg

    admin_url = os.environ.get(
        "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"portal_bench_{os.getpid()}"
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        return None
    database_url = admin_url.rsplit("/", 1)[0] + "/" + name
    env = {
        **portal_env(workdir),
        "DEBUG": "1",
        "DATABASE_URL": database_url,
        "STOREHUB_URL": f"{sandbox.url}/storehub",
    }
    results = {}
    try:
        run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env)
        for workers in (1, 2):
            sandbox.state.script("storehub", ["success;delay=0.2"] * (count + 10))
            processes = [
                subprocess.Popen(
                    [
                        sys.executable,
                        "manage.py",
                        "worker",
                        "--no-reload",
                        "--interval",
                        "0.2",
                        "--no-startup-delay",
                        f"--worker-id=bench-{n}",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for n in range(workers)
            ]
            try:
                time.sleep(3)  # the workers start and wait for work
                # No e-mail address: the queue holds forwards only.
                run(
                    [
                        sys.executable,
                        "manage.py",
                        "shell",
                        "-c",
                        "from tests.support.factories import storehub_data;"
                        "from tickets.customer.intake import submission_create;"
                        f"[submission_create(provider='storehub', data=storehub_data(email='')) "
                        f"for _ in range({count})]",
                    ],
                    env,
                )
                with psycopg.connect(database_url, autocommit=True) as connection:
                    deadline = time.perf_counter() + 300
                    while connection.execute(
                        "SELECT COUNT(*) FROM tickets_submission WHERE status <> 'sent'"
                    ).fetchone()[0]:
                        if time.perf_counter() > deadline:
                            raise SystemExit("forwarding did not finish in 5 minutes")
                        time.sleep(0.05)
                    # From the first request stored to the last one sent, on the database clock.
                    elapsed = connection.execute(
                        "SELECT EXTRACT(EPOCH FROM MAX(sent_at) - MIN(created_at))"
                        " FROM tickets_submission"
                    ).fetchone()[0]
                    connection.execute("DELETE FROM tickets_providercall")
                    connection.execute("DELETE FROM tickets_submission")
            finally:
                for process in processes:
                    process.terminate()
                    process.wait(timeout=20)
            rate = count / float(elapsed)
            results[workers] = {"per_s": rate, "efficiency": rate / (workers * 5.0)}
            sandbox.state.reset()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return results

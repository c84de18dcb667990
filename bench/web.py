"""Web throughput against a bare Django insert, both under gunicorn (2 workers) and wrk.

What a customer's post costs against a bare Django insert as Django ships it:

- bare (bench/bare): a 3-field form page and a view inserting one row, Django's default
  settings and middleware, DEBUG off, its database as Django ships it (SQLite with Django's
  defaults; on PostgreSQL a connection per request, Django's default);
- portal: the StoreHub form page and its post, as deployed: production settings (DEBUG off, the
  portal's own database settings; on PostgreSQL, deploy/compose.yaml's kept connections and
  Redis for the rate limit), each post with a fresh signed form token and its own browser
  cookie, as a customer who opened the form sends it (so the sent-once lookup runs each time);
- "with a worker": the same posts while a ``manage.py worker`` forwards what they store to a
  sandbox provider answering at once (``manage.py run_sandbox``), beside gunicorn.

Loaded with wrk on loopback for a fixed time each, interleaved round by round, on SQLite and,
when a PostgreSQL answers, on PostgreSQL (a fresh database for each side, dropped after).
Correctness is checked inside: rows added = redirects counted; any other answer stops the run.
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
# Signed form tokens made before the run, each posted once (wrk's Lua cannot sign them).
TOKENS = int(os.environ.get("BENCH_WEB_TOKENS", "80000"))
POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# A database of its own on a shared Redis: the bench's counts stay out of everyone else's.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
LOADS = ("bare_get", "portal_get", "bare_post", "portal_post", "portal_post_with_worker")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def portal_env(workdir: Path, database_url: str | None = None) -> dict:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "0",
        "SANDBOX": "0",
        "SECRET_KEY": "bench-portal-" + "p" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": database_url or f"sqlite:///{workdir / 'web.sqlite3'}",
        "STATIC_ROOT": str(workdir / "static"),
        "MEDIA_ROOT": str(workdir / "web-media"),
        "ENABLED_PROVIDERS": "storehub",
        "STOREHUB_URL": "https://storehub.invalid",
        "STOREHUB_API_KEY": "tk_bench",
        "FORM_RATE_LIMIT": "1000000000",
        "UNUSUAL_VOLUME_PER_HOUR": "1000000000",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "1",
        "LOG_LEVEL": "WARNING",
    }


def bare_env(workdir: Path, database_url: str | None = None) -> dict:
    """The bare app with Django's own database settings."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DJANGO_SETTINGS_MODULE": "bench.bare.settings",
        "PYTHONPATH": str(ROOT),
        "BARE_DATABASE_URL": database_url or f"sqlite:///{workdir / 'bare.sqlite3'}",
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
            "/dev/null",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", what=f"gunicorn for {app}", log=log)
    except BaseException:
        process.terminate()
        process.wait(timeout=20)
        raise
    return process


def wait_for_http(url: str, *, what: str, log: Path) -> None:
    for _ in range(300):
        try:
            requests.get(url, timeout=10)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    raise SystemExit(f"{what} did not start; see {log}")


class Wrk:
    """One wrk load; ``tokens`` hands each post a form token never posted before."""

    def __init__(self, tokens: Path | None = None) -> None:
        self.tokens = tokens
        self.next_token = 0

    def __call__(self, url: str, body: str | None = None, *, form: bool = False) -> dict:
        command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency"]
        env = {**os.environ}
        if body is not None:
            command += ["-s", str(ROOT / "bench" / "bare" / "post.lua")]
            env.update({"BENCH_CSRF": CSRF, "BENCH_BODY": body})
            if form:
                env.update({"BENCH_TOKENS": str(self.tokens), "BENCH_FIRST": str(self.next_token)})
        out = subprocess.run(
            [*command, url], env=env, capture_output=True, text=True, check=True
        ).stdout
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if errors:
            raise SystemExit(f"wrk saw {errors.group(1)} error responses from {url}:\n{out}")
        if "TOKENS RAN OUT" in out:
            raise SystemExit("the form tokens ran out: raise BENCH_WEB_TOKENS")
        sent = int(re.search(r"(\d+) requests in", out).group(1))
        if form:
            # Requests still in flight when wrk stops were sent (their tokens used) uncounted.
            self.next_token += sent + 2 * int(CONNECTIONS)
        redirects = re.search(r"REDIRECTS (\d+)", out)
        return {
            "per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p99_ms": _ms(re.search(r"\s99%\s+([\d.]+)(us|ms|s)\b", out)),
            "redirects": int(redirects.group(1)) if redirects else 0,
        }


def _ms(match: re.Match) -> float:
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


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


class Rows:
    """Counts a table's rows in a SQLite file or a PostgreSQL database."""

    def __init__(self, database_url: str, table: str) -> None:
        self.url, self.table = database_url, table

    def __call__(self) -> int:
        query = f"SELECT COUNT(*) FROM {self.table}"  # noqa: S608 (the bench's own names)
        if self.url.startswith("sqlite:///"):
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as connection:
                return connection.execute(query).fetchone()[0]
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            return connection.execute(query).fetchone()[0]


def start_sandbox(workdir: Path) -> tuple[subprocess.Popen, dict]:
    """``manage.py run_sandbox`` on free ports, and what a worker needs to forward to it."""
    port = free_port()
    sandbox = {
        "SANDBOX_URL": f"http://127.0.0.1:{port}",
        "SANDBOX_SMTP_PORT": str(free_port()),
        "STOREHUB_URL": f"http://127.0.0.1:{port}/storehub",
    }
    env = {**portal_env(workdir), **sandbox, "DEBUG": "1", "SANDBOX": "1"}
    log = workdir / "sandbox.log"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_sandbox", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    wait_for_http(f"{sandbox['SANDBOX_URL']}/_sandbox/mail", what="the sandbox", log=log)
    return process, sandbox


def worker_of(sandbox: dict) -> dict:
    """What a worker as deployed (DEBUG off) needs to forward to the sandbox and mail it."""
    return {
        **sandbox,
        "DEBUG": "0",
        "PROVIDER_ALLOW_HTTP_ON_LOOPBACK": "1",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": sandbox["SANDBOX_SMTP_PORT"],
    }


# The worker as the Procfile starts it.
WORKER = [sys.executable, "manage.py", "worker", "--no-reload", "--interval", "0.2"]


def start_worker(env: dict, sandbox: dict, log: Path) -> subprocess.Popen:
    """A worker as Procfile runs it, DEBUG off, forwarding to the sandbox (plain http on
    loopback allowed by its setting) and mailing its catcher."""
    process = subprocess.Popen(
        [
            *WORKER,
            "--queue-name",
            "default",
            "--no-startup-delay",
        ],
        cwd=ROOT,
        env={**env, **worker_of(sandbox)},
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )
    time.sleep(2)  # Django set up, the queue looked at once: forwarding when the load starts
    if process.poll() is not None:
        raise SystemExit(f"the worker stopped at once; see {log}")
    return process


def databases(workdir: Path):
    """(label, portal environment, bare database URL) for SQLite (the one-machine image), then
    PostgreSQL (deploy/compose.yaml: kept connections, Redis for the rate limit) when it
    answers; BENCH_WEB_DATABASES=sqlite or =postgresql runs one of them."""
    chosen = os.environ.get("BENCH_WEB_DATABASES", "sqlite,postgresql").split(",")
    if "sqlite" in chosen:
        portal = portal_env(workdir, f"sqlite:///{workdir / 'web.sqlite3'}")
        yield "sqlite", portal, f"sqlite:///{workdir / 'bare.sqlite3'}"
    if "postgresql" not in chosen:
        return
    import psycopg

    names = [f"portal_bench_{os.getpid()}_{side}" for side in ("portal", "bare")]
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3) as admin:
            for name in names:
                admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        print("web on PostgreSQL: SKIPPED, no PostgreSQL answered (BENCH_POSTGRES_URL)")
        return
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    portal = {**portal_env(workdir, f"{base}/{names[0]}"), "DATABASE_CONN_MAX_AGE": "60"}
    if _redis_answers(REDIS_URL):
        portal["REDIS_URL"] = REDIS_URL
    else:
        print(f"web on PostgreSQL: the rate limit counts in memory, no Redis at {REDIS_URL}")
    try:
        yield "postgresql", portal, f"{base}/{names[1]}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def measure(workdir: Path, rounds: int) -> dict[str, dict[str, list[dict]]]:
    """Interleaved rounds of the five loads on each database: {database: {load: [figures]}}."""
    from tests.support.factories import form_post

    if subprocess.run(["which", "wrk"], capture_output=True).returncode:
        raise SystemExit("wrk is missing: `make bench` installs it (apt-get install wrk)")
    tokens = workdir / "tokens.txt"
    form_tokens(portal_env(workdir), TOKENS, tokens)
    load = Wrk(tokens)
    sandbox_process, sandbox = start_sandbox(workdir)
    portal_body = urlencode(form_post("storehub", form_token=None))
    bare_body = urlencode({"name": "Siti", "email": "siti@example.my", "text": "POS swap"})
    results = {}
    try:
        for label, portal, bare_url in databases(workdir):
            bare = bare_env(workdir, bare_url)
            run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], portal)
            run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], portal)
            run([sys.executable, "-m", "django", "migrate", "--run-syncdb", "-v0"], bare)
            results[label] = _rounds(
                workdir / label, rounds, load, portal, bare, sandbox, portal_body, bare_body
            )
    finally:
        sandbox_process.terminate()
        sandbox_process.wait(timeout=20)
    return results


def _rounds(logs, rounds, load, portal, bare, sandbox, portal_body, bare_body) -> dict:
    logs.mkdir(exist_ok=True)
    portal_port, bare_port = free_port(), free_port()
    servers: list[subprocess.Popen] = []
    portal_url, bare_url = f"http://127.0.0.1:{portal_port}", f"http://127.0.0.1:{bare_port}"
    submissions = Rows(portal["DATABASE_URL"], "tickets_submission")
    messages = Rows(bare["BARE_DATABASE_URL"], "bare_message")
    figures: dict[str, list[dict]] = {name: [] for name in LOADS}

    def post(rows: Rows, url: str, body: str, *, form: bool) -> dict:
        before = rows()
        result = load(url, body, form=form)
        check_rows(rows() - before, result["redirects"])
        return result

    try:
        servers.append(
            start_gunicorn("portal.wsgi:application", portal, portal_port, logs / "portal.log")
        )
        servers.append(
            start_gunicorn("bench.bare.wsgi:application", bare, bare_port, logs / "bare.log")
        )
        load(f"{portal_url}/storehub/")  # warm up: the page rendered, connections opened
        for _ in range(rounds):
            figures["bare_get"].append(load(f"{bare_url}/"))
            figures["portal_get"].append(load(f"{portal_url}/storehub/"))
            figures["bare_post"].append(post(messages, f"{bare_url}/", bare_body, form=False))
            figures["portal_post"].append(
                post(submissions, f"{portal_url}/storehub/", portal_body, form=True)
            )
            worker = start_worker(portal, sandbox, logs / "worker.log")
            try:
                figures["portal_post_with_worker"].append(
                    post(submissions, f"{portal_url}/storehub/", portal_body, form=True)
                )
            finally:
                worker.terminate()
                worker.wait(timeout=60)
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
                        *WORKER,
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


def summary(figures: dict[str, dict[str, list[dict]]], rounds: int) -> dict:
    """Medians over the rounds, and the ratios the issue asks of them, per database."""
    import statistics

    result = {"rounds": rounds, "seconds_per_load": int(SECONDS), "connections": int(CONNECTIONS)}
    for database, loads in figures.items():
        median = {
            name: {key: statistics.median(f[key] for f in runs) for key in ("per_s", "p99_ms")}
            for name, runs in loads.items()
        }
        bare_post = median["bare_post"]["per_s"]
        result[database] = {
            **{f"{name}_per_s": round(m["per_s"], 1) for name, m in median.items()},
            "ratio_form_page": round(
                median["portal_get"]["per_s"] / median["bare_get"]["per_s"], 2
            ),
            "ratio_submit": round(median["portal_post"]["per_s"] / bare_post, 2),
            "ratio_submit_with_worker": round(
                median["portal_post_with_worker"]["per_s"] / bare_post, 2
            ),
            **{f"{name}_p99_ms": round(m["p99_ms"], 1) for name, m in median.items()},
            "portal_post_p99_ms_worst_round": round(
                max(
                    f["p99_ms"]
                    for name in ("portal_post", "portal_post_with_worker")
                    for f in loads[name]
                ),
                1,
            ),
            "per_round": {
                name: [[round(f["per_s"]), round(f["p99_ms"], 1)] for f in runs]
                for name, runs in loads.items()
            },
        }
    return result


def print_summary(result: dict) -> None:
    print(
        f"web: gunicorn x2, DEBUG off, wrk -c{result['connections']} "
        f"{result['seconds_per_load']} s a load, median of {result['rounds']} interleaved rounds"
    )
    print(
        "                                   bare/s  portal/s  ratio   bare p99  portal p99"
        "  (target)"
    )
    for database in ("sqlite", "postgresql"):
        if database not in result:
            continue
        r = result[database]
        print(f"{database}:")
        rows = (
            ("form page (GET)", "bare_get", "portal_get", "ratio_form_page", ">= 1.5x"),
            ("submit, web only", "bare_post", "portal_post", "ratio_submit", ">= 0.75x"),
            (
                "submit, one worker forwarding",
                "bare_post",
                "portal_post_with_worker",
                "ratio_submit_with_worker",
                ">= 0.65x",
            ),
        )
        for label, bare, portal, ratio, target in rows:
            print(
                f"  {label:31s}{r[f'{bare}_per_s']:7.0f}  {r[f'{portal}_per_s']:8.0f}  "
                f"{r[ratio]:4.2f}x  {r[f'{bare}_p99_ms']:6.1f} ms  {r[f'{portal}_p99_ms']:7.1f} ms"
                f"  ({target})"
            )
        print(
            f"  submit p99, worst round: {r['portal_post_p99_ms_worst_round']:.1f} ms"
            " (target < 100 ms)"
        )

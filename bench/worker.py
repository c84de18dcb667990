"""Forwards per second while the web takes posts, on PostgreSQL, with a provider that answers
at once: one worker, then two. Run alone with `.venv/bin/python bench/worker.py`; `make bench`
runs it as one section of bench/run.py.

A fresh database on ``BENCH_POSTGRES_URL``'s server (created and dropped here); the portal's
web under gunicorn (DEBUG off, as deployed) with wrk posting the StoreHub form to it, each post
with a fresh form token, all along; ``manage.py worker`` (as the Procfile runs it) forwarding to
the sandbox (``manage.py run_sandbox``: StoreHub answering at once, its mail catcher taking the
receipts and ticket-number e-mails). A burst of ``BENCH_WORKER_BURST`` requests is stored
(``submission_create`` in a loop) while the workers are stopped, then they go on while the web
takes posts; forwards per second counts every request that reached ``sent`` with its ticket
number from the first of the burst sent to the last of it (the web's posts are forwarded in
between, and count).

Rounds alternate one and two workers; medians are printed (``--json PATH`` writes them too), with
the load average, since the machine may be shared. Then one forward is profiled in this
process: the queries and the database connections of the worker's loop for one forward task
(claim the task, the forward, finish the task).
"""

import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ROUNDS = int(os.environ.get("BENCH_WORKER_ROUNDS", "3"))
CONNECTIONS = int(os.environ.get("BENCH_WORKER_CONNECTIONS", "2"))
BURST = int(os.environ.get("BENCH_WORKER_BURST", "500"))
PROFILED_BURST = 20
WORKER_COUNTS = (1, 2)
CSRF = "benchcsrf" + "0" * 23  # 32 characters: a CSRF secret taken as cookie and field
# How often the Procfile's worker looks for new work when the queue is empty.
WORKER_INTERVAL = "0.2"

POST_LUA = """
local counter, tokens, id = 0, {}, 0
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local threads = {}
function setup(thread) thread:set("id", #threads); table.insert(threads, thread) end
function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Cookie"] = "csrftoken=" .. os.getenv("BENCH_CSRF")
end
function request()
  counter = counter + 1
  local token = tokens[(counter * 7 + id) % #tokens + 1]
  return wrk.format(nil, nil, nil, os.getenv("BENCH_BODY") .. "&csrfmiddlewaretoken="
    .. os.getenv("BENCH_CSRF") .. "&form_token=" .. token)
end
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, log: Path) -> None:
    import requests

    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(f"{url} exited; see {log}")
        try:
            requests.get(url, timeout=10)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not start; see {log}")


def environments(workdir: Path, database_url: str) -> tuple[dict, dict, dict]:
    """The web's and the workers' (DEBUG off, as deployed; the workers allowed plain http to
    the sandbox on loopback), and the sandbox's (DEBUG on)."""
    sandbox_port, smtp_port = free_port(), free_port()
    common = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BENCH_"))},
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-worker-" + "w" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "ENABLED_PROVIDERS": "storehub",
        "STOREHUB_API_KEY": "tk_bench",
        "FORM_RATE_LIMIT": "1000000000",
        "UNUSUAL_VOLUME_PER_HOUR": "1000000000",
        "MEDIA_ROOT": str(workdir / "media"),
        "LOG_LEVEL": "WARNING",
    }
    web = {
        **common,
        "DEBUG": "0",
        "SANDBOX": "0",
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_ROOT": str(workdir / "static"),
        "STOREHUB_URL": "https://storehub.invalid",  # the web never calls the provider
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "1",
    }
    sandbox = {
        **common,
        "DEBUG": "1",
        "SANDBOX_URL": f"http://127.0.0.1:{sandbox_port}",
        "SANDBOX_SMTP_PORT": str(smtp_port),
        "STOREHUB_URL": f"http://127.0.0.1:{sandbox_port}/storehub",
    }
    worker = {
        **sandbox,
        "DEBUG": "0",
        "PROVIDER_ALLOW_HTTP_ON_LOOPBACK": "1",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
    }
    return web, worker, sandbox


def manage(env: dict, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, **kwargs)


def run(env: dict, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def one_round(workers: int, *, worker_env: dict, url: str, workdir: Path) -> dict:
    import psycopg

    from tests.support.factories import storehub_data
    from tickets.customer.intake import submission_create

    logs = [(workdir / f"worker-{workers}-{n}.log").open("w") for n in range(workers)]
    processes = [
        manage(
            worker_env,
            "worker",
            "--no-reload",
            "--no-startup-delay",
            "--interval",
            WORKER_INTERVAL,
            "--queue-name",
            "default",
            f"--worker-id=bench-{workers}-{n}",
            stdout=logs[n],
            stderr=subprocess.STDOUT,
        )
        for n in range(workers)
    ]
    posting = None
    try:
        with psycopg.connect(worker_env["DATABASE_URL"], autocommit=True) as db:
            time.sleep(3)  # the workers start and wait for work
            # The burst is stored while the workers are stopped: stored one by one in this
            # process it comes slower than they forward, and its pace would be what is measured.
            for process in processes:
                process.send_signal(signal.SIGSTOP)
            burst = [
                submission_create(provider="storehub", data=storehub_data()).pk
                for _ in range(BURST)
            ]
            posting = subprocess.Popen(
                ["wrk", "-t1", f"-c{CONNECTIONS}", "-d600s", "-s", str(workdir / "post.lua"), url],
                env={
                    **os.environ,
                    "BENCH_CSRF": CSRF,
                    "BENCH_BODY": body(),
                    "BENCH_TOKENS": str(workdir / "tokens.txt"),
                },
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1)  # the web is taking posts
            cpu_at_start = sum(cpu_time(process.pid) for process in processes)  # less start-up
            for process in processes:
                process.send_signal(signal.SIGCONT)
            deadline = time.monotonic() + 600
            while db.execute(
                "SELECT COUNT(*) FROM tickets_submission WHERE status <> 'sent' AND id = ANY(%s)",
                [burst],
            ).fetchone()[0]:
                if time.monotonic() > deadline:
                    raise SystemExit("forwarding did not finish in 10 minutes")
                if any(process.poll() is not None for process in processes):
                    raise SystemExit(f"a worker exited; see {workdir}")
                time.sleep(0.05)
            posting.terminate()
            posting.wait()
            cpu_seconds = sum(cpu_time(process.pid) for process in processes) - cpu_at_start
            sent = db.execute(
                "SELECT COUNT(*) FROM tickets_submission WHERE sent_at >= %s",
                [
                    db.execute(
                        "SELECT MIN(created_at) FROM tickets_submission WHERE id = ANY(%s)", [burst]
                    ).fetchone()[0]
                ],
            ).fetchone()[0]
            first, last = db.execute(
                "SELECT MIN(sent_at), MAX(sent_at) FROM tickets_submission WHERE id = ANY(%s)",
                [burst],
            ).fetchone()
            forwarded, posted = db.execute(
                "SELECT COUNT(*) FILTER (WHERE sent_at BETWEEN %(first)s AND %(last)s),"
                " COUNT(*) FILTER (WHERE created_at BETWEEN %(first)s AND %(last)s"
                "  AND NOT id = ANY(%(burst)s))"
                " FROM tickets_submission",
                {"first": first, "last": last, "burst": burst},
            ).fetchone()
            unnumbered, forwarded_twice = db.execute(
                "SELECT COUNT(*) FILTER (WHERE ticket_id = ''),"
                " COUNT(*) FILTER (WHERE forward_count <> 1)"
                " FROM tickets_submission WHERE status = 'sent'"
            ).fetchone()
            # The next round starts from an empty queue: what is left is not its work.
            db.execute("TRUNCATE tickets_submission, django_tasks_database_dbtaskresult CASCADE")
    finally:
        if posting is not None and posting.poll() is None:
            posting.terminate()
            posting.wait()
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        for log in logs:
            log.close()
    if unnumbered or forwarded_twice:
        raise SystemExit(f"{unnumbered} sent without a number, {forwarded_twice} not sent once")
    seconds = (last - first).total_seconds()
    return {
        "forwards_per_s": forwarded / seconds,
        "posts_per_s": posted / seconds,
        "load_average": os.getloadavg()[0],
        # Each forward's cost to the workers whatever else runs: the machine may be shared.
        "worker_cpu_ms_per_forward": cpu_seconds * 1000 / sent,
    }


def cpu_time(pid: int) -> float:
    """Seconds of CPU a process has used (user and system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def body() -> str:
    from tests.support.factories import form_post

    return urlencode(form_post("storehub", form_token=None))


def write_tokens(web: dict, workdir: Path) -> None:
    """Form tokens for the posts (each post needs a fresh one), and wrk's script."""
    run(
        web,
        "shell",
        "-c",
        "from tickets.forms.base import issue_form_token as t;"
        f"open({str(workdir / 'tokens.txt')!r}, 'w')"
        ".write(chr(10).join(t() for _ in range(50000)))",
    )
    (workdir / "post.lua").write_text(POST_LUA)


def profile_forwards(worker_env: dict) -> dict:
    """The queries and database connections of ``manage.py worker`` for a lone forward, and
    per forward for a burst of ``PROFILED_BURST`` waiting, in this process."""
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.db.backends.signals import connection_created
    from django.test.utils import CaptureQueriesContext

    from tests.support.factories import storehub_data
    from tickets.customer.intake import submission_create
    from tickets.models import Submission

    opened = []
    connection_created.connect(lambda **kwargs: opened.append(1), weak=False)

    def forward(count: int) -> tuple[int, int]:
        stored = [
            submission_create(provider="storehub", data=storehub_data()).pk for _ in range(count)
        ]
        opened.clear()
        reset_queries()  # the log keeps the last 9000: the bursts stored earlier filled it
        checks = 1
        with CaptureQueriesContext(connection) as queries:
            while Submission.objects.filter(pk__in=stored).exclude(status="sent").exists():
                checks += 1
                # One task at a time: the forwards go ahead of the e-mails they queue.
                call_command(
                    "worker",
                    batch=True,
                    max_tasks=1,
                    reload=False,
                    startup_delay=False,
                    verbosity=0,
                )
        return len(queries) - checks, len(opened)

    forward(1)  # the sweep's task and the caches in place
    lone_queries, lone_connections = forward(1)
    burst_queries, burst_connections = forward(PROFILED_BURST)
    return {
        "lone_queries": lone_queries,
        "lone_connections_opened": lone_connections,
        "burst_queries_per_forward": round(burst_queries / PROFILED_BURST, 1),
        "burst_connections_opened_per_forward": round(burst_connections / PROFILED_BURST, 2),
    }


def main() -> None:

    if subprocess.run(["which", "wrk"], capture_output=True).returncode:
        raise SystemExit("wrk is missing: `make bench` installs it (apt-get install wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="portal-bench-worker-"))
    figures = measure(workdir)
    if figures is None:
        raise SystemExit(f"no PostgreSQL answered at {ADMIN_URL} (BENCH_POSTGRES_URL)")
    print_figures(figures)
    if "--json" in sys.argv:
        Path(sys.argv[sys.argv.index("--json") + 1]).write_text(json.dumps(figures, indent=2))


def measure(workdir: Path) -> dict | None:
    """Medians per worker count, and the profile of one forward; None without PostgreSQL."""
    import psycopg

    name = f"portal_bench_worker_{os.getpid()}"
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3) as db:
            db.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        return None
    database_url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    web, worker, sandbox_env = environments(workdir, database_url)
    # This process profiles one forward as a worker would, and builds the posts' bodies.
    os.environ.update(worker)
    import django

    django.setup()
    started = []
    try:
        run(worker, "migrate", "--noinput", "-v0")
        run(web, "collectstatic", "--noinput", "-v0")
        sandbox_log = (workdir / "sandbox.log").open("w")
        sandbox_port = worker["SANDBOX_URL"].rsplit(":", 1)[1]
        sandbox = manage(
            sandbox_env,
            "run_sandbox",
            "--port",
            sandbox_port,
            stdout=sandbox_log,
            stderr=sandbox_log,
        )
        started.append(sandbox)
        wait_for_http(worker["SANDBOX_URL"] + "/_sandbox/requests", sandbox, workdir)
        web_port = free_port()
        web_log = (workdir / "web.log").open("w")
        gunicorn = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "portal.wsgi:application",
                "--config",
                "gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{web_port}",
            ],
            cwd=ROOT,
            env=web,
            stdout=web_log,
            stderr=subprocess.STDOUT,
        )
        started.append(gunicorn)
        url = f"http://127.0.0.1:{web_port}/storehub/"
        wait_for_http(url, gunicorn, workdir / "web.log")
        write_tokens(web, workdir)
        rounds: dict[int, list[dict]] = {count: [] for count in WORKER_COUNTS}
        for _ in range(ROUNDS):
            for count in WORKER_COUNTS:
                result = one_round(count, worker_env=worker, url=url, workdir=workdir)
                print(
                    f"  {count} worker(s): " + ", ".join(f"{k} {v:.1f}" for k, v in result.items())
                )
                rounds[count].append(result)
        profile = profile_forwards(worker)
    finally:
        for process in started:
            process.terminate()
            process.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        with psycopg.connect(ADMIN_URL, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    medians = {
        count: {key: statistics.median(r[key] for r in results) for key in results[0]}
        for count, results in rounds.items()
    }
    return {
        "rounds": ROUNDS,
        "burst": BURST,
        "wrk_connections": CONNECTIONS,
        **{
            f"{count}_workers": {k: round(v, 1) for k, v in m.items()}
            for count, m in medians.items()
        },
        "ratio_2_to_1": round(medians[2]["forwards_per_s"] / medians[1]["forwards_per_s"], 2),
        "one_forward": profile,
    }


def print_figures(figures: dict) -> None:
    print(
        f"forwarding on PostgreSQL, provider at once, a burst of {figures['burst']} while wrk"
        f" -c{figures['wrk_connections']} posts, median of {figures['rounds']}"
    )
    print(
        "                 forwards/s  posts/s meanwhile  worker CPU ms/forward"
        "  load average (1 min, 2 cores)"
    )
    for count in WORKER_COUNTS:
        row = figures[f"{count}_workers"]
        print(
            f"{count} worker{'s' if count > 1 else ' '}        {row['forwards_per_s']:10.1f}"
            f"  {row['posts_per_s']:17.1f}  {row['worker_cpu_ms_per_forward']:21.1f}"
            f"  {row['load_average']:12.1f}"
        )
    print(f"2 workers / 1:   {figures['ratio_2_to_1']:10.2f}")
    one = figures["one_forward"]
    print(
        f"queries (connections opened) of the worker: a lone forward {one['lone_queries']}"
        f" ({one['lone_connections_opened']}); per forward of a burst of {PROFILED_BURST}"
        f" {one['burst_queries_per_forward']} ({one['burst_connections_opened_per_forward']})"
    )


if __name__ == "__main__":
    if re.search(r"-h|--help", " ".join(sys.argv[1:])):
        print(__doc__)
    else:
        main()

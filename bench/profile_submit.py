"""Where a form post's time goes, step by step: `python bench/profile_submit.py`.

The portal as bench/web.py runs it (production settings, SQLite, or DATABASE_URL's PostgreSQL
with BENCH_PROFILE_DATABASE_URL), one gunicorn worker serving bench/profile_wsgi.py, which times
each middleware and each step of the view; ``BENCH_PROFILE_POSTS`` StoreHub posts, one at a time,
each with a fresh form token and a browser cookie of its own. Prints each step's own time per
post, largest first.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.web import (  # noqa: E402
    CSRF,
    form_tokens,
    free_port,
    portal_env,
    run,
    wait_for_http,
)

POSTS = int(os.environ.get("BENCH_PROFILE_POSTS", "300"))
WARM_UP = 30


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="portal-profile-"))
    env = portal_env(workdir, os.environ.get("BENCH_PROFILE_DATABASE_URL"))
    env["PYTHONPATH"] = str(ROOT)
    os.environ.update({k: v for k, v in env.items() if k not in os.environ or k.isupper()})
    run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env)
    run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], env)
    tokens_file = workdir / "tokens.txt"
    form_tokens(env, POSTS + WARM_UP, tokens_file)
    tokens = tokens_file.read_text().split("\n")
    port = free_port()
    log = workdir / "gunicorn.log"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "bench.profile_wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/", what="gunicorn", log=log)
        fields = _storehub_post()
        session = requests.Session()
        elapsed = 0.0
        for number, token in enumerate(tokens):
            if number == WARM_UP:
                session.post(base + "/_profile", timeout=10)
                elapsed = 0.0
            body = urlencode({**fields, "csrfmiddlewaretoken": CSRF, "form_token": token})
            started = time.perf_counter()
            answer = session.post(
                base + "/storehub/",
                data=body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": f"csrftoken={CSRF}; portal_browser=profilebrowser{number:010d}",
                },
                allow_redirects=False,
                timeout=30,
            )
            elapsed += time.perf_counter() - started
            if answer.status_code != 302:
                raise SystemExit(f"post {number} answered {answer.status_code}; see {log}")
        totals = session.get(base + "/_profile", timeout=10).json()
    finally:
        server.terminate()
        server.wait(timeout=20)
    posts = len(tokens) - WARM_UP
    print(f"{posts} posts, one at a time: {elapsed / posts * 1000:.2f} ms each at the client")
    print(f"{'step (own time, timed callees apart)':64s} {'us/post':>8s} {'calls/post':>10s}")
    timed = 0.0
    for name, (seconds, calls) in sorted(totals.items(), key=lambda item: -item[1][0]):
        timed += seconds
        print(f"{name:64s} {seconds / posts * 1e6:8.0f} {calls / posts:10.2f}")
    print(f"{'all timed steps':64s} {timed / posts * 1e6:8.0f}")


def _storehub_post() -> dict:
    import django

    django.setup()
    from tests.support.factories import form_post

    return form_post("storehub", form_token=None)


if __name__ == "__main__":
    main()

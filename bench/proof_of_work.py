"""What the proof of work asked during unusual volume costs (tickets/customer/proof_of_work.py).

- On the server, in this process (Django's test client, DEBUG off so the form page is the
  rendered-once page it is in production), interleaved round by round: the StoreHub form page
  and its post with normal volume (baseline) against the same during unusual volume, the page
  carrying a fresh challenge and the post a solved one (solved beforehand, out of the timing).
- In the browser: headless Chromium at 360 px, as it is and at Lighthouse's 4x CPU slow-down (a
  mid-range phone), from the form page's first byte to the answer in the form, ``PROOF_LOADS``
  loads each, against ``manage.py runserver`` during unusual volume.

``BENCH_ONLY=proof make bench`` runs this section alone.
"""

import html
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import altcha
import requests
from django.db import connection
from django.test import Client
from django.test.utils import override_settings

from tests.support.browser import CHROMIUM, CHROMIUM_BASE_ARGS
from tests.support.factories import storehub_post

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = int(os.environ.get("BENCH_PROOF_ROUNDS", "5"))
PER_ROUND = int(os.environ.get("BENCH_PROOF_PER_ROUND", "40"))
PROOF_LOADS = int(os.environ.get("BENCH_PROOF_LOADS", "15"))
CHALLENGE = re.compile(r'data-challenge="([^"]+)"')


def proof_of_work_cost(base_port: int) -> dict:
    server = _server_costs()
    browser = _browser_solves(base_port)
    return {**server, **browser}


def _solved(page: str) -> str:
    challenge = altcha.Challenge.from_dict(json.loads(html.unescape(CHALLENGE.search(page)[1])))
    return altcha.Payload(challenge, altcha.solve_challenge(challenge)).to_base64()


def _server_costs() -> dict:
    sent = iter(range(10**9))
    times: dict[str, list[float]] = {key: [] for key in ("get", "get_pow", "post", "post_pow")}

    def timed(key: str, unusual: bool) -> None:
        threshold = 1 if unusual else 10**9
        with override_settings(DEBUG=False, UNUSUAL_VOLUME_PER_HOUR=threshold):
            for _ in range(PER_ROUND):
                if key.startswith("get"):
                    started = time.perf_counter()
                    page = Client().get("/storehub/")
                    times[key].append(time.perf_counter() - started)
                    assert (b"proof-of-work" in page.content) == unusual
                    continue
                fields = {"name": f"Bench Proof {next(sent)}"}
                if unusual:
                    fields["altcha"] = _solved(Client().get("/storehub/").content.decode())
                started = time.perf_counter()
                answer = Client().post("/storehub/", storehub_post(**fields))
                times[key].append(time.perf_counter() - started)
                assert answer.status_code == 302

    with override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver"], FORM_RATE_LIMIT=10**9):
        Client().post("/storehub/", storehub_post(name="Bench Proof warm-up"))
        for _ in range(ROUNDS):
            timed("get", False), timed("get_pow", True), timed("post", False)
            timed("post_pow", True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT status, COUNT(*) FROM tickets_submission GROUP BY status")
        statuses = dict(cursor.fetchall())
    assert "checking" not in statuses, f"a solved proof was held: {statuses}"
    p50 = {key: statistics.median(values) * 1000 for key, values in times.items()}
    return {
        "form_page_p50_ms": round(p50["get"], 2),
        "form_page_with_challenge_p50_ms": round(p50["get_pow"], 2),
        "ratio_form_page": round(p50["get_pow"] / p50["get"], 2),
        "submit_p50_ms": round(p50["post"], 2),
        "submit_with_proof_p50_ms": round(p50["post_pow"], 2),
        "ratio_submit": round(p50["post_pow"] / p50["post"], 2),
    }


def _browser_solves(port: int) -> dict:
    from playwright.sync_api import sync_playwright

    env = {**os.environ, "UNUSUAL_VOLUME_PER_HOUR": "1", "FORM_RATE_LIMIT": "100000"}
    web = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    solves: dict[str, list[float]] = {"as_is": [], "cpu_4x_slower": []}
    try:
        _one_request_counted(base)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_BASE_ARGS
            )
            for name, rate in (("as_is", 1), ("cpu_4x_slower", 4)):
                page = browser.new_page(viewport={"width": 360, "height": 760})
                cdp = page.context.new_cdp_session(page)
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": rate})
                for load in range(PROOF_LOADS + 1):
                    seconds = _one_solve(page, base)
                    if load:  # the first warms the server and the browser's caches
                        solves[name].append(seconds)
                page.close()
            browser.close()
    finally:
        web.terminate()
        web.wait(timeout=10)
    return {
        f"solve_{name}_{p}_s": round(_percentile(values, p), 3)
        for name, values in solves.items()
        for p in (50, 95)
    }


def _one_request_counted(base: str) -> None:
    """One form sent, so that the runserver's count is at its threshold (1) from now on."""
    for _ in range(200):
        try:
            session = requests.Session()
            page = session.get(f"{base}/storehub/", timeout=5).text
            break
        except requests.ConnectionError:
            time.sleep(0.05)
    else:
        raise SystemExit("the web server did not start")
    tokens = dict(re.findall(r'name="(csrfmiddlewaretoken|form_token)" value="([^"]+)"', page))
    session.post(
        f"{base}/storehub/",
        storehub_post(name="Bench Proof first", **tokens),
        headers={"Referer": f"{base}/storehub/"},
        timeout=10,
    )


def _one_solve(page, base: str) -> float:
    started = time.monotonic()
    page.goto(f"{base}/storehub/", wait_until="commit")
    # Polled from Python: the page's CSP forbids the string waits Playwright would use.
    while _state(page) != "solved":
        if time.monotonic() - started > 60:
            raise SystemExit("the proof of work was not solved within a minute")
        time.sleep(0.01)
    return time.monotonic() - started


def _state(page) -> str:
    from playwright.sync_api import Error

    try:
        return page.evaluate(
            "(document.getElementById('request-form') || {dataset: {}}).dataset.proofOfWork || ''"
        )
    except Error:  # between two documents
        return ""


def _percentile(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def print_proof_of_work(result: dict) -> None:
    print("proof of work (unusual volume), server, in process          p50")
    print(f"form page, normal volume (baseline):          {result['form_page_p50_ms']:8.2f} ms")
    print(
        f"form page with a fresh challenge:             "
        f"{result['form_page_with_challenge_p50_ms']:8.2f} ms  "
        f"({result['ratio_form_page']:.2f}x)"
    )
    print(f"submit, normal volume (baseline):             {result['submit_p50_ms']:8.2f} ms")
    print(
        f"submit with a solved proof (checked, spent):  "
        f"{result['submit_with_proof_p50_ms']:8.2f} ms  ({result['ratio_submit']:.2f}x)"
    )
    print(f"Chromium at 360 px, first byte -> solved, {PROOF_LOADS} loads      p50       p95")
    for name, label in (("as_is", "as it is"), ("cpu_4x_slower", "CPU 4x slower (mid phone)")):
        print(
            f"{label:44s}  {result[f'solve_{name}_50_s']:6.2f} s  "
            f"{result[f'solve_{name}_95_s']:6.2f} s"
        )

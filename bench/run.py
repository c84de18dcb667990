"""Forwarding overhead: what the portal adds on top of the bare HTTP call to the provider.

Run with `make bench`. The machine is shared and noisy, so the figures are ratios against a
baseline measured in the same run, interleaved round by round:

- baseline: one bare ``requests.post`` of the StoreHub body to the loopback sandbox;
- portal:   ``submission_create`` + ``submission_forward`` for the same request (store, claim,
            call, record the attempt, mark sent), on a fresh SQLite database.

Each figure is the median of several rounds. Prints a table and writes bench/results.json.
"""

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
workdir = Path(tempfile.mkdtemp(prefix="portal-bench-"))
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "LOG_LEVEL": "WARNING",
    }
)

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from tests.factories import storehub_data, storehub_request  # noqa: E402
from tickets.providers import get_provider  # noqa: E402
from tickets.providers.storehub.sandbox import StoreHubSandbox  # noqa: E402
from tickets.sandbox.server import start_in_thread  # noqa: E402
from tickets.services.forwarding import submission_forward  # noqa: E402
from tickets.services.intake import submission_create  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
PER_ROUND = int(os.environ.get("BENCH_PER_ROUND", "50"))


def main() -> None:
    call_command("migrate", verbosity=0)
    sandbox = start_in_thread(endpoints={"storehub": StoreHubSandbox})
    options = settings.TICKET_PROVIDERS["storehub"]["OPTIONS"]
    options.update(url=f"{sandbox.url}/storehub", api_key="tk_bench")
    provider = get_provider("storehub")
    body = provider.build_body(storehub_request())["json_body"]
    url = provider.create_url
    session = requests.Session()
    headers = {"Authorization": "Bearer tk_bench"}

    def baseline() -> None:
        session.post(url, json=body, headers=headers, timeout=10).raise_for_status()

    def portal() -> None:
        # Enqueueing is part of creating; the forward runs here instead of in a worker.
        submission = submission_create(provider="storehub", data=storehub_data())
        forwarded = submission_forward(submission_id=submission.pk)
        assert forwarded is not None and forwarded.status == "sent"

    def timed(operation) -> float:
        started = time.perf_counter()
        for _ in range(PER_ROUND):
            operation()
        return (time.perf_counter() - started) / PER_ROUND

    baseline(), portal()  # warm up connections, caches and the provider's token
    baseline_times, portal_times = [], []
    for _ in range(ROUNDS):
        baseline_times.append(timed(baseline))
        portal_times.append(timed(portal))
    sandbox.shutdown()

    base_ms = statistics.median(baseline_times) * 1000
    portal_ms = statistics.median(portal_times) * 1000
    result = {
        "rounds": ROUNDS,
        "per_round": PER_ROUND,
        "baseline_bare_http_ms": round(base_ms, 2),
        "portal_store_and_forward_ms": round(portal_ms, 2),
        "ratio_portal_to_baseline": round(portal_ms / base_ms, 2),
    }
    print(f"bare HTTP call to the provider (baseline): {base_ms:8.2f} ms")
    print(f"store + forward through the portal:        {portal_ms:8.2f} ms")
    print(f"ratio:                                     {portal_ms / base_ms:8.2f}x")
    (ROOT / "bench" / "results.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

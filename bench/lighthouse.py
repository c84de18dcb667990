"""Lighthouse (mobile) on the StoreHub form, served as the image serves it.

The one-machine command (scripts/one-machine.sh: nginx in front of gunicorn, DEBUG off, static
files collected with the production storage) answers on loopback; Lighthouse 12 drives Debian's
Chromium with its default mobile profile (a mid-range phone, slow 4G, the CPU 4x slower) and
reports the four category scores and the audits this portal answers for: the HTML sent
compressed, its own scripts minified, a meta description. Lighthouse is installed from npm into
bench/lighthouse/ (ignored by git) the first time. ``BENCH_ONLY=lighthouse make bench`` runs
this section alone.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bench.slow_clients import one_machine_env, start_server, stop_server

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE_VERSION = "12.8.2"
LIGHTHOUSE_DIR = ROOT / "bench" / "lighthouse"
LIGHTHOUSE = LIGHTHOUSE_DIR / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
# The findings issue 30 asked to take away; each must pass (score 1) after.
AUDITS = ("uses-text-compression", "unminified-javascript", "meta-description")
PAGE = "/storehub/"
# Runs on one server; the median run by performance is reported.
RUNS = int(os.environ.get("BENCH_LIGHTHOUSE_RUNS", "3"))


def install_lighthouse() -> Path:
    installed = LIGHTHOUSE_DIR / "node_modules" / "lighthouse" / "package.json"
    if LIGHTHOUSE.exists() and json.loads(installed.read_text())["version"] == LIGHTHOUSE_VERSION:
        return LIGHTHOUSE
    if not shutil.which("npm"):
        raise SystemExit("Lighthouse needs npm: apt-get install npm")
    LIGHTHOUSE_DIR.mkdir(exist_ok=True)
    subprocess.run(
        [
            "npm",
            "install",
            "--prefix",
            str(LIGHTHOUSE_DIR),
            "--no-audit",
            "--no-fund",
            "--no-save",
            f"lighthouse@{LIGHTHOUSE_VERSION}",
        ],
        check=True,
    )
    return LIGHTHOUSE


def lighthouse_scores(workdir: Path) -> dict:
    """The median run of ``RUNS``: one run's performance score moves with the machine's load."""
    lighthouse = install_lighthouse()
    env = {
        **one_machine_env(workdir, "lighthouse.sqlite3"),
        "STATIC_ROOT": str(workdir / "lighthouse-static"),
        "OPERATOR_NAME": "Kedai Contoh Sdn Bhd",
        "OPERATOR_CONTACT": "support@example.my",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    reports = []
    one_machine, base = start_server(
        ["sh", "scripts/one-machine.sh"], env, workdir / "lighthouse.log"
    )
    try:
        for run in range(RUNS):
            report_path = workdir / f"lighthouse-storehub-{run + 1}.json"
            subprocess.run(
                [
                    str(lighthouse),
                    base + PAGE,
                    "--quiet",
                    "--output=json",
                    f"--output-path={report_path}",
                    f"--only-categories={','.join(CATEGORIES)}",
                    "--chrome-flags=--headless=new --no-sandbox --disable-gpu "
                    "--disable-dev-shm-usage",
                ],
                cwd=workdir,
                env={**os.environ, "CHROME_PATH": CHROMIUM},
                check=True,
            )
            reports.append((json.loads(report_path.read_text()), report_path))
    finally:
        stop_server(one_machine)

    def score(report: dict, name: str) -> int:
        return round(report["categories"][name]["score"] * 100)

    reports.sort(key=lambda kept: score(kept[0], "performance"))
    report, report_path = reports[len(reports) // 2]
    return {
        "lighthouse": report["lighthouseVersion"],
        "form_factor": report["configSettings"]["formFactor"],
        "page": PAGE,
        "runs": RUNS,
        "performance_per_run": [score(kept, "performance") for kept, _ in reports],
        "scores": {name: score(report, name) for name in CATEGORIES},
        "audits": {
            name: {
                "passed": report["audits"][name]["score"] == 1,
                "display": report["audits"][name].get("displayValue", ""),
            }
            for name in AUDITS
        },
        "failing_audits": sorted(
            audit_id
            for audit_id, audit in report["audits"].items()
            if audit["score"] is not None
            and audit["score"] < 1
            and audit["scoreDisplayMode"] in ("binary", "numeric", "metricSavings")
        ),
        "first_visit_bytes": report["audits"]["total-byte-weight"]["numericValue"],
        "report": str(report_path),
    }


def print_lighthouse(result: dict) -> None:
    print(
        f"Lighthouse {result['lighthouse']} ({result['form_factor']}) on {result['page']}, "
        f"median of {result['runs']} runs (performance: {result['performance_per_run']})"
    )
    for name, score in result["scores"].items():
        print(f"  {name:<16} {score:>4}")
    for name, audit in result["audits"].items():
        verdict = "passed" if audit["passed"] else f"FLAGGED {audit['display']}"
        print(f"  {name:<28} {verdict}")
    print(f"  first visit: {result['first_visit_bytes'] / 1024:.1f} KB on the wire")
    print(f"  audits below full marks: {', '.join(result['failing_audits']) or 'none'}")

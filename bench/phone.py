"""Send the OneCloud form with a 12 MP phone photo on Lighthouse's mobile profile.

Chromium at phone size (360 x 760) -> PhoneLine (tests/support/line.py, MOBILE_PROFILE both ways:
1.6 Mbps down, 750 kbps up, 150 ms round trip) -> gunicorn (2 workers, DEBUG off) -> a real
``worker`` -> the OneCloud sandbox on loopback. The photo is ``camera_photo_bytes()``: 4000 x 3000,
about 3.6 MB, with its GPS position in EXIF. Two rows of ``BENCH_PHOTO_SENDS`` sends (default 3):

- before: JavaScript off in the browser: the plain form post, what customers got without the
  scripts that shrink the photo and send in the background;
- after:  JavaScript on.

Each send starts in a fresh browser context (a phone with nothing cached or stored), fills the
form by field id, chooses the photo and presses "Send request". Per row: the median seconds from
the press to the status page's URL and to the provider holding the ticket, the bytes the phone
posted up the line (every attempt), the picture's bytes as the provider received them, and
whether the JPEG the provider received still carries GPS in its EXIF.

The sandbox records each multipart part's size and SHA-256, not its bytes: the GPS answer is
read from the attachment the portal stored, and only once its SHA-256 equals the provider's
record, so it is the file the provider received.

The web server, which the customer waits for, runs with DEBUG off; its start-up checks refuse a
plain http provider, so it is given https addresses it never calls (it only stores the request).
The worker, which calls the provider, runs with DEBUG on and the sandbox's loopback address.
Every wait for the portal is bounded; servers, worker, line, browser and files are gone at the
end.

Alone: ``.venv/bin/python bench/phone.py`` (``BENCH_PHOTO_SENDS=1`` for a quick look).
"""

import contextlib
import hashlib
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SENDS = int(os.environ.get("BENCH_PHOTO_SENDS", "3"))
STATUS_PATH = re.compile(r"/status/([0-9a-f-]{36})/$")
# 3.6 MB at 750 kbps is about 40 s; room for a slow machine and for scripts that send again.
SEND_TIMEOUT_SECONDS = 300
PROVIDER_TIMEOUT_SECONDS = 60
PAGE_TIMEOUT_SECONDS = 120
GPS_IFD = 0x8825


def photo_sends(workdir: Path, sends: int = SENDS) -> dict[str, Any]:
    """Both rows, as the figures that go into results.json."""
    from bench.web import free_port, portal_env, run, start_gunicorn
    from tests.support.factories import camera_photo_bytes
    from tests.support.line import MOBILE_PROFILE, PhoneLine
    from tests.support.mail import start_smtp_server
    from tickets.providers.onecloud.sandbox import OneCloudSandbox
    from tickets.sandbox.server import start_in_thread

    photo_bytes = camera_photo_bytes()
    with contextlib.ExitStack() as teardown:
        directory = Path(teardown.enter_context(tempfile.TemporaryDirectory(dir=workdir)))
        photo = directory / "IMG_20260114_093012.jpg"
        photo.write_bytes(photo_bytes)
        sandbox = start_in_thread(endpoints={"onecloud": OneCloudSandbox})
        teardown.callback(sandbox.server_close)
        teardown.callback(sandbox.shutdown)
        # OneCloud's contact e-mail is mandatory: the receipts go to a catcher, not to a
        # refused port 25 that the worker would keep retrying beside the forwards.
        mail, _ = start_smtp_server()
        teardown.callback(mail.stop)
        provider = OneCloudSandbox.portal_options(f"{sandbox.url}/onecloud")
        web_env = {
            **portal_env(directory),
            "ENABLED_PROVIDERS": "onecloud",
            "ONECLOUD_URL": "https://onecloud.invalid",
            "ONECLOUD_TOKEN_URL": "https://onecloud.invalid/api/token",
            "ONECLOUD_USERNAME": provider["username"],
            "ONECLOUD_PASSWORD": provider["password"],
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(mail.port),
            # The app loads before gunicorn listens: on a busy machine a worker's start takes
            # longer than start_gunicorn's first request waits (2 s), which it takes as fatal.
            "GUNICORN_CMD_ARGS": "--preload",
        }
        worker_env = {
            **web_env,
            "DEBUG": "1",
            "ONECLOUD_URL": provider["url"],
            "ONECLOUD_TOKEN_URL": provider["token_url"],
        }
        # migrate runs every system check, and with DEBUG off the http sandbox fails one.
        run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], worker_env)
        run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], web_env)
        port = free_port()
        web = start_gunicorn("portal.wsgi:application", web_env, port, directory / "web.log")
        teardown.callback(stop, web)
        worker_log = teardown.enter_context((directory / "worker.log").open("w"))
        worker = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "worker",
                "--no-reload",
                "--no-startup-delay",
                "--interval",
                "0.2",
            ],
            cwd=ROOT,
            env=worker_env,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
        )
        teardown.callback(stop, worker)
        line = teardown.enter_context(PhoneLine("127.0.0.1", port, **MOBILE_PROFILE))
        rows = browse(
            line=line,
            sandbox=sandbox,
            photo=photo,
            database=directory / "web.sqlite3",
            media=Path(web_env["MEDIA_ROOT"]),
            sends=sends,
            logs=directory,
        )
    return {
        "sends": sends,
        "profile": dict(MOBILE_PROFILE),
        "photo_bytes": len(photo_bytes),
        **{label: summary(results) for label, results in rows.items()},
    }


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def browse(
    *,
    line,
    sandbox,
    photo: Path,
    database: Path,
    media: Path,
    sends: int,
    logs: Path,
) -> dict[str, list[dict[str, Any]]]:
    from playwright.sync_api import sync_playwright

    from tests.support.browser import CHROMIUM, CHROMIUM_BASE_ARGS, PHONE

    rows: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_BASE_ARGS)
        try:
            for label, javascript in (("before", False), ("after", True)):
                for number in range(sends):
                    context = browser.new_context(
                        viewport=PHONE, java_script_enabled=javascript, locale="en-MY"
                    )
                    page = context.new_page()
                    rows[label].append(
                        one_send(
                            page,
                            line=line,
                            sandbox=sandbox,
                            photo=photo,
                            subject=f"Till printer jams ({label} {number + 1})",
                            logs=logs,
                        )
                    )
                    # Closing a context whose page is live (the status page: its polls, the
                    # form's IndexedDB) hung Chromium 156 for good about one time in three;
                    # leaving the page first does not. After a failure, browser.close() ends all.
                    page.goto("about:blank")
                    context.close()
        finally:
            browser.close()
    for results in rows.values():
        for result in results:
            result["gps_in_exif"] = received_has_gps(
                database, media, result.pop("public_id"), result.pop("received_sha256")
            )
    return rows


class ProviderWatch:
    """Notes, from a thread, when the provider first holds a ticket with this subject: the
    browser's waits block the main thread, and the provider may get it before the page."""

    def __init__(self, sandbox, subject: str) -> None:
        self.sandbox = sandbox
        self.subject = subject
        self.record: dict[str, Any] | None = None
        self.seen_at = 0.0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="provider-watch", daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while not self.stopped.wait(0.02):
            for record in self.sandbox.state.created("onecloud"):
                if record["body"].get("subject") == self.subject:
                    self.record, self.seen_at = record, time.monotonic()
                    return

    def wait(self, timeout: float) -> dict[str, Any] | None:
        self.thread.join(timeout)
        self.stopped.set()
        return self.record


def one_send(page, *, line, sandbox, photo: Path, subject: str, logs: Path) -> dict[str, Any]:
    page.set_default_timeout(PAGE_TIMEOUT_SECONDS * 1000)
    page.goto(line.url + "/onecloud/")
    page.fill("#id_name", "Siti Rahman")
    page.fill("#id_email", "siti@example.my")
    page.select_option("#id_category", "Question")
    page.fill("#id_subject", subject)
    page.fill("#id_content", "The till printer jams on every second receipt. Photo attached.")
    page.set_input_files("#id_attachment", str(photo))
    provider = ProviderWatch(sandbox, subject)
    sent = time.monotonic()
    try:
        page.get_by_role("button", name="Send request").click()
        page.wait_for_url(STATUS_PATH, wait_until="commit", timeout=SEND_TIMEOUT_SECONDS * 1000)
    except Exception as error:
        provider.wait(0)
        raise SystemExit(
            f"no status page {SEND_TIMEOUT_SECONDS} s after Send (at {page.url}): {error}"
            + log_tails(logs)
        ) from error
    page_seconds = time.monotonic() - sent
    record = provider.wait(PROVIDER_TIMEOUT_SECONDS)
    if record is None:
        raise SystemExit(
            f"the provider had no ticket {PROVIDER_TIMEOUT_SECONDS} s after the status page"
            + log_tails(logs)
        )
    picture = picture_part(record["body"])
    return {
        "send_to_status_page_s": round(page_seconds, 2),
        "send_to_provider_s": round(provider.seen_at - sent, 2),
        # Every POST since the press, attempts cut short included.
        "posted_up_the_line_bytes": sum(
            e.bytes_up for e in line.uploads("POST ") if e.started >= sent
        ),
        "received_bytes": picture["size"] if picture else 0,
        "received_sha256": picture["sha256"] if picture else "",
        "public_id": STATUS_PATH.search(page.url)[1],
    }


def picture_part(body: dict[str, Any]) -> dict[str, Any] | None:
    """The provider's record of the picture: the multipart part named like the form's field,
    else the one file part there is."""
    files = {name: part for name, part in body.items() if isinstance(part, dict)}
    return files.get("attachment") or (next(iter(files.values())) if len(files) == 1 else None)


def received_has_gps(database: Path, media: Path, public_id: str, sha256: str) -> bool | None:
    """Whether the stored picture has GPS in its EXIF; None when it is not the file the
    provider received (or none was)."""
    from PIL import Image

    with sqlite3.connect(database) as connection:
        names = connection.execute(
            "SELECT a.file FROM tickets_attachment a JOIN tickets_submission s"
            " ON s.id = a.submission_id WHERE s.public_id = ?",
            (uuid.UUID(public_id).hex,),
        ).fetchall()
    for (name,) in names:
        path = media / name
        if hashlib.sha256(path.read_bytes()).hexdigest() == sha256:
            with Image.open(path) as image:
                return bool(image.getexif().get_ifd(GPS_IFD))
    return None


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    gps = {result["gps_in_exif"] for result in results}
    return {
        "send_to_status_page_p50_s": statistics.median(r["send_to_status_page_s"] for r in results),
        "send_to_provider_p50_s": statistics.median(r["send_to_provider_s"] for r in results),
        "posted_up_the_line_bytes_p50": statistics.median(
            r["posted_up_the_line_bytes"] for r in results
        ),
        "received_bytes_p50": statistics.median(r["received_bytes"] for r in results),
        "gps_in_exif": {frozenset({True}): "yes", frozenset({False}): "no"}.get(
            frozenset(gps), "mixed or unknown"
        ),
        "each": results,
    }


def log_tails(directory: Path, lines: int = 15) -> str:
    tails = []
    for name in ("web.log", "worker.log"):
        path = directory / name
        if path.exists():
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            tails.append(f"\n--- {name} ---\n" + "\n".join(tail))
    return "".join(tails)


def print_photo_sends(figures: dict[str, Any]) -> None:
    profile = figures["profile"]
    print(
        f"12 MP photo ({figures['photo_bytes'] / 1e6:.1f} MB) in the OneCloud form,"
        f" Chromium 360 px, {profile['down_bytes_per_second'] * 8 / 1e6:.1f} Mbps down,"
        f" {profile['up_bytes_per_second'] * 8 / 1e3:.0f} kbps up,"
        f" {profile['latency_seconds'] * 2000:.0f} ms"
    )
    print(
        f"{'p50 of ' + str(figures['sends']) + ' sends':<24}"
        "  send -> status page  send -> provider  posted up  received  GPS in EXIF"
    )
    for label, name in (("before", "before (JavaScript off)"), ("after", "after (JavaScript on)")):
        row = figures[label]
        print(
            f"{name:<24}{row['send_to_status_page_p50_s']:19.1f} s"
            f"{row['send_to_provider_p50_s']:16.1f} s"
            f"{row['posted_up_the_line_bytes_p50'] / 1e3:8.0f} KB"
            f"{row['received_bytes_p50'] / 1e3:7.0f} KB  {row['gps_in_exif']}"
        )


def main() -> None:
    import json

    with tempfile.TemporaryDirectory(prefix="portal-bench-phone-") as temporary:
        workdir = Path(temporary)
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "portal.settings",
                "DEBUG": "1",
                "DATABASE_URL": f"sqlite:///{workdir / 'unused.sqlite3'}",
                "MEDIA_ROOT": str(workdir / "media"),
                "LOG_LEVEL": "WARNING",
            }
        )
        import django

        django.setup()
        figures = photo_sends(workdir)
    print_photo_sends(figures)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()

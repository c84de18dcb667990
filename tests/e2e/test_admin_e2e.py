"""The staff console in a real browser: spot a failed submission, see it on the map, resend it."""

import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from tests.factories import storehub_data
from tickets.models import Attempt, ErrorClass, Status, Submission

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PASSWORD = "correct-horse-battery-staple"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
]


@dataclass
class Browser:
    page: "sync_api.Page"
    csp_violations: list[str] = field(default_factory=list)


@pytest.fixture
def staff_browser(live_server, monkeypatch):
    """A headless Chromium page that can reach the live server and nothing else."""
    # Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run in
    # one unless told it is safe (it is: the loop only waits on the browser).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        context = chromium.new_context(viewport={"width": 1440, "height": 900})
        browser = Browser(page=context.new_page())
        browser.page.set_default_timeout(15_000)

        # Offline on purpose: map tiles and anything else off the live server fail fast.
        def only_the_live_server(route):
            if route.request.url.startswith(live_server.url):
                route.continue_()
            else:
                route.abort()

        def note_csp_violation(message):
            if "Content Security Policy" in message.text:
                browser.csp_violations.append(message.text)

        browser.page.route("**/*", only_the_live_server)
        browser.page.on("console", note_csp_violation)
        yield browser
        context.close()
        chromium.close()


def failed_submission_with_history() -> Submission:
    submission = Submission.objects.create(
        provider="storehub",
        status=Status.FAILED,
        attempt_count=1,
        last_error_class=ErrorClass.TRANSIENT,
        last_error="StoreHub -10008: Unexpected error",
        **storehub_data(latitude=Decimal("3.157300"), longitude=Decimal("101.712200")),
    )
    Attempt.objects.create(
        submission=submission,
        started_at=timezone.now() - timedelta(minutes=3),
        duration_ms=210,
        url="http://127.0.0.1:8001/storehub/api/ticket/create",
        request={"headers": {"Authorization": "***"}, "json": {"Ticket": {"Name": "Ahmad"}}},
        http_status=200,
        response='{"ErrorCode": "-10008", "ErrorMessage": "Unexpected error"}',
        error_class=ErrorClass.TRANSIENT,
        message="StoreHub -10008: Unexpected error",
    )
    return submission


def test_staff_find_a_failed_submission_see_it_on_the_map_and_resend_it(
    staff_browser, live_server, django_user_model
):
    django_user_model.objects.create_superuser("staff", "staff@example.com", PASSWORD)
    failed = failed_submission_with_history()
    Submission.objects.create(provider="storehub", status=Status.SENT, **storehub_data())
    page = staff_browser.page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{live_server.url}/admin/login/?next=/admin/tickets/submission/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    # The list: a loud banner, and the status readable as a word.
    banner = page.get_by_role("alert")
    sync_api.expect(banner).to_contain_text("1 failed")
    page.locator("#changelist-filter").get_by_role("link", name="Needs attention").click()
    rows = page.locator("#result_list tbody tr")
    sync_api.expect(rows).to_have_count(1)
    sync_api.expect(rows.first).to_contain_text("Failed")
    page.screenshot(path=str(SCREENSHOTS / "admin-changelist.png"), full_page=True)

    # The detail: the map draws its marker from the vendored images, tiles fail offline.
    rows.first.get_by_role("link", name=failed.reference).click()
    sync_api.expect(page.locator("#submission-map[data-ready=true]")).to_be_attached()
    marker = page.locator("#submission-map img.leaflet-marker-icon")
    sync_api.expect(marker).to_be_visible()
    assert "/static/vendor/leaflet/images/marker-icon" in marker.get_attribute("src")
    # The image may still be loading when it becomes visible: wait for it, then check it drew.
    page.wait_for_function(
        "() => { const img = document.querySelector('#submission-map img.leaflet-marker-icon');"
        " return img && img.complete; }"
    )
    assert marker.evaluate("img => img.naturalWidth > 0")
    sync_api.expect(page.get_by_role("link", name="Open in OpenStreetMap")).to_have_attribute(
        "href", re.compile(r"^https://www\.openstreetmap\.org/\?mlat=3\.157300&mlon=101\.712200")
    )
    sync_api.expect(page.locator(".attempt-timeline")).to_contain_text("Unexpected error")
    page.screenshot(path=str(SCREENSHOTS / "admin-submission-detail.png"), full_page=True)

    # Resend from the detail page.
    page.select_option("select[name='CHANGE_FORM-action']", "resend_now")
    page.locator("#content-main .actions button[name=index]").click()
    sync_api.expect(page.locator("ul.messagelist")).to_contain_text("1 submission(s) queued")
    failed.refresh_from_db()
    assert failed.status == Status.QUEUED
    assert staff_browser.csp_violations == []

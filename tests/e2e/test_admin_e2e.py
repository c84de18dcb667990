"""The staff console in a real browser: spot a failed submission, see it on the map, resend it."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright import sync_api

from tests.support.browser import SCREENSHOTS, assert_accessible, csp_violations
from tests.support.factories import add_attempts, stored_submission
from tickets.models import ErrorClass, Status, Submission

PASSWORD = "correct-horse-battery-staple"
STAFF_DESKTOP = {"width": 1440, "height": 900}

pytestmark = pytest.mark.e2e


def failed_submission_with_history() -> Submission:
    submission = stored_submission(
        "storehub",
        status=Status.FAILED,
        forward_count=1,
        last_error_class=ErrorClass.TRANSIENT,
        last_error="StoreHub -10008: Unexpected error",
        latitude=Decimal("3.157300"),
        longitude=Decimal("101.712200"),
    )
    add_attempts(submission, 1)
    return submission


def test_staff_find_a_failed_submission_see_it_on_the_map_and_resend_it(
    browsing, live_server, django_user_model
):
    django_user_model.objects.create_superuser("staff", "staff@example.com", PASSWORD)
    failed = failed_submission_with_history()
    stored_submission("storehub", status=Status.SENT)
    # Offline but for the live server: the map's tiles fail, its marker must still show.
    page = browsing.page(viewport=STAFF_DESKTOP)
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
    sync_api.expect(page.locator(".console-timeline")).to_contain_text("Unexpected error")
    page.screenshot(path=str(SCREENSHOTS / "admin-submission-detail.png"), full_page=True)

    # Resend from the detail page, beside the timeline.
    page.locator(".console-actions").get_by_role("button", name="Resend now").click()
    sync_api.expect(page.locator("ul.messagelist")).to_contain_text("1 submission queued")
    # The resend is the newest thing that happened, at the top of the timeline.
    latest = page.locator(".timeline > .event").first
    sync_api.expect(latest).to_contain_text("Staff: staff")
    sync_api.expect(latest).to_contain_text("Resent by staff.")
    failed.refresh_from_db()
    assert failed.status == Status.QUEUED
    assert csp_violations(page) == []


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 800}, {"width": 360, "height": 740}], ids=["1280", "360"]
)
def test_signing_in_lands_on_a_list_that_fits_the_screen(
    browsing, live_server, django_user_model, viewport
):
    django_user_model.objects.create_superuser("staff", "staff@example.com", PASSWORD)
    failed_submission_with_history()
    stored_submission(
        "storehub", status=Status.SENT, ticket_id="1000", case_number="STOREHUB1000-CA228430"
    )
    page = browsing.page(viewport=viewport)

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    # Straight to the requests, with what needs attention on top.
    assert re.search(r"/admin/tickets/submission/$", page.url)
    sync_api.expect(page.get_by_role("alert")).to_contain_text("1 failed")
    table = page.locator("#result_list")
    sync_api.expect(table).to_be_visible()
    if viewport["width"] >= 1280:
        # Every column in view: nothing to scroll sideways for.
        overflow = table.evaluate("t => t.scrollWidth - t.parentElement.clientWidth")
        assert overflow <= 0
    # At either size, the first columns say what each row is and how it stands.
    for header in ("Reference", "Status"):
        box = page.get_by_role("columnheader", name=header).bounding_box()
        assert box["x"] + box["width"] <= viewport["width"], header


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 800}, {"width": 360, "height": 740}], ids=["1280", "360"]
)
def test_staff_cancel_with_a_reason_and_reopen(browsing, live_server, django_user_model, viewport):
    django_user_model.objects.create_superuser("staff", "staff@example.com", PASSWORD)
    failed = failed_submission_with_history()
    page = browsing.page(viewport=viewport, inject_axe=True)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/tickets/submission/{failed.pk}/change/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    actions = page.locator(".console-actions")
    actions.get_by_role("button", name="Cancel delivery…").click()

    # A page that says what will happen and asks why; nothing changed yet.
    sync_api.expect(page.locator("#content-main")).to_contain_text(failed.reference)
    sync_api.expect(page.locator("#content-main")).to_contain_text("You can reopen it later")
    # Every way the customer hears of it, named before staff confirm.
    sync_api.expect(page.locator(".customer-told")).to_have_text("told by e-mail")
    failed.refresh_from_db()
    assert failed.status == Status.FAILED
    page.get_by_role("button", name="Yes, cancel delivery").click()
    sync_api.expect(page.locator(".errorlist")).to_contain_text("This field is required.")
    assert_accessible(page, f"admin cancel confirmation {viewport['width']}")
    page.get_by_label("Why cancel?").fill("The customer fixed it by phone")
    page.get_by_role("button", name="Yes, cancel delivery").click()

    sync_api.expect(page.locator("ul.messagelist")).to_contain_text("1 submission cancelled.")
    # The newest thing that happened, at the top of the timeline.
    latest = page.locator(".timeline > .event").first
    sync_api.expect(latest).to_contain_text("The customer fixed it by phone")
    # Cancelled: reopening is what is offered now.
    sync_api.expect(actions.get_by_role("button", name="Cancel delivery…")).to_have_count(0)

    actions.get_by_role("button", name="Reopen and send now").click()
    sync_api.expect(page.locator("ul.messagelist")).to_contain_text("1 submission reopened")
    sync_api.expect(page.locator(".summary-status")).to_contain_text("Queued")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert_accessible(page, f"admin detail after reopening {viewport['width']}")
    failed.refresh_from_db()
    assert failed.status == Status.QUEUED
    assert csp_violations(page) == []


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 800}, {"width": 360, "height": 740}], ids=["1280", "360"]
)
def test_delivery_at_a_glance_draws_its_charts(browsing, live_server, django_user_model, viewport):
    django_user_model.objects.create_superuser("staff", "staff@example.com", PASSWORD)
    failed_submission_with_history()
    for ticket in ("1000", "1001"):
        sent = stored_submission("storehub", status=Status.SENT, ticket_id=ticket)
        Submission.objects.filter(pk=sent.pk).update(sent_at=sent.created_at + timedelta(seconds=2))
    page = browsing.page(viewport=viewport, inject_axe=True)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/tickets/submission/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    page.get_by_role("link", name="Delivery at a glance").click()

    storehub = page.locator("#delivery-storehub")
    sync_api.expect(storehub.locator(".figure-sent dd")).to_have_text("2")
    sync_api.expect(storehub.locator(".figure-failed dd")).to_have_text("1")
    sync_api.expect(storehub.locator(".figure-p50 dd")).to_have_text("2.0 s")
    chart = storehub.get_by_role("img", name="Requests by day, by what they came to")
    sync_api.expect(chart).to_be_visible()
    # Drawn, not just present: the bar has height, and the chart fits the screen.
    bar = chart.locator("rect.outcome-sent")
    assert bar.bounding_box()["height"] > 10
    assert chart.bounding_box()["width"] <= viewport["width"]
    failures = storehub.get_by_role("img", name="Failed calls to the provider, by class")
    sync_api.expect(failures).to_be_visible()
    page.get_by_role("link", name="Last 30 days").click()
    sync_api.expect(page.get_by_role("link", name="Last 30 days")).to_have_attribute(
        "aria-current", "page"
    )
    storehub.locator("summary").click()
    sync_api.expect(storehub.locator("tbody tr")).to_have_count(30)
    assert_accessible(page, f"delivery at a glance {viewport['width']}")
    page.screenshot(
        path=str(SCREENSHOTS / f"admin-delivery-{viewport['width']}.png"), full_page=True
    )
    assert csp_violations(page) == []

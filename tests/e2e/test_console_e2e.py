"""The staff console on an agent's two screens, 1280 px with Django's navigation sidebar open and
a 360 px phone: the list says who asked about what, the detail page is a summary and one
timeline, nothing is cut, and axe finds nothing."""

import pytest
from playwright import sync_api

from tests.support.browser import assert_accessible, csp_violations, screenshot
from tests.support.factories import CUSTOMER_DATA, stored_submission
from tickets.customer.intake import submission_create
from tickets.models import ErrorClass, Status, Submission
from tickets.providers import provider_label

pytestmark = pytest.mark.e2e

PASSWORD = "correct-horse-battery-staple"
VIEWPORTS = pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 800}, {"width": 360, "height": 740}], ids=["1280", "360"]
)
# What an agent reads of a sent request without scrolling far: the issue's figure, at 1280 px.
DETAIL_HEIGHT_LIMIT = 1600
LONG_ISSUE = (
    "Receipt printer at the front counter stops after every second receipt and the cash drawer "
    "does not open with it"
)

# Elements whose content is wider than their box: cut off, or spilling over their neighbours.
# A map's panes are wider than the map by design, text for screen readers only is clipped on
# purpose, and a closed <details> shows nothing.
OVERFLOWING = """(root) => {
  const clipped = (el) =>
    el && (getComputedStyle(el).clipPath !== 'none' || clipped(el.parentElement));
  return [...document.querySelectorAll(root + ' *')]
    .filter((el) => !el.closest('.leaflet-container') && !clipped(el))
    .filter((el) => el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1)
    .map((el) => `${el.tagName}.${el.className} ${el.scrollWidth}>${el.clientWidth}`);
}"""


def sign_in(page, server_url: str, next_path: str, django_user_model) -> None:
    django_user_model.objects.create_superuser("agent", "agent@example.my", PASSWORD)
    page.goto(f"{server_url}/admin/login/?next={next_path}")
    page.fill("#id_username", "agent")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def assert_nothing_cut(page, width: int, name: str) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, name
    assert page.evaluate(OVERFLOWING, "#content-main") == [], name


@pytest.fixture(params=["storehub", "onecloud"])
def sent_request(request, sandbox, whatsapp, smtp_server, run_worker) -> Submission:
    """A request as the worker leaves it once sent: its calls (OneCloud's with a token first),
    its status, its e-mails and WhatsApp messages to the customer."""
    about = {"storehub": "issue", "onecloud": "subject"}[request.param]
    data = CUSTOMER_DATA[request.param](
        whatsapp_updates=True, phone="60123456789", **{about: LONG_ISSUE[:200]}
    )
    submission = submission_create(provider=request.param, data=data, language="ms")
    run_worker()
    submission.refresh_from_db()
    assert submission.status == Status.SENT
    return submission


@VIEWPORTS
# Malay and Indonesian words are longer than English ones: the columns must hold them too.
@pytest.mark.parametrize("language", ["en", "ms", "id"])
def test_the_list_says_who_asked_about_what_and_fits(
    browsing, live_server, django_user_model, viewport, language
):
    stored_submission(
        "storehub",
        status=Status.FAILED,
        name="Nurul Aisyah binti Mohamad Rahmatullah",
        issue=LONG_ISSUE,
        last_error_class=ErrorClass.TRANSIENT,
    )
    stored_submission(
        "storehub", status=Status.SENT, ticket_id="1000", case_number="STOREHUB1000-CA228430"
    )
    stored_submission("onecloud", status=Status.RETRYING, subject="Subscribe to onebox")
    page = browsing.page(viewport=viewport, inject_axe=True, locale=language)

    sign_in(page, live_server.url, "/admin/tickets/submission/", django_user_model)

    rows = page.locator("#result_list tbody tr")
    sync_api.expect(rows).to_have_count(3)
    if viewport["width"] >= 1280:
        # The agent's desk: Django's navigation sidebar open beside the list.
        sync_api.expect(page.locator("#nav-sidebar")).to_be_visible()
    failed = rows.filter(has_text="Nurul Aisyah")
    for cell, text in (
        (".field-name", "Nurul Aisyah binti Mohamad Rahmatullah"),
        (".field-about", "Receipt printer at the front counter"),
    ):
        located = failed.locator(cell)
        sync_api.expect(located).to_be_visible()
        sync_api.expect(located).to_contain_text(text)
        box = located.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], cell
    sync_api.expect(rows.filter(has_text="Subscribe to onebox")).to_have_count(1)
    table = page.locator("#result_list")
    assert table.evaluate("t => t.scrollWidth - t.parentElement.clientWidth") <= 0
    assert_nothing_cut(page, viewport["width"], f"list in {language}")
    assert_accessible(page, f"console list in {language} {viewport['width']}")
    print(f"\nlist at {viewport['width']} px: {screenshot(page, f'console-list-{language}')}")
    assert csp_violations(page) == []


@VIEWPORTS
def test_a_sent_request_is_a_summary_and_one_timeline(
    browsing, live_server, django_user_model, sent_request, viewport
):
    page = browsing.page(viewport=viewport, inject_axe=True)

    sign_in(
        page,
        live_server.url,
        f"/admin/tickets/submission/{sent_request.pk}/change/",
        django_user_model,
    )

    summary = page.locator(".request-summary")
    for fact in (
        sent_request.name,
        LONG_ISSUE,
        provider_label(sent_request.provider),
        "Sent",
        sent_request.customer_ticket_number,
    ):
        sync_api.expect(summary).to_contain_text(fact)
    # One timeline, newest first, of everything: the calls, the statuses, the e-mails, the
    # WhatsApp messages and the customer's consent to them.
    events = page.locator(".timeline > .event")
    kinds = events.evaluate_all("items => items.map((item) => item.className.split('-').pop())")
    assert {"call", "status", "email", "whatsapp", "consent"} <= set(kinds)
    # The first things that happened: the customer sent it, agreeing to WhatsApp updates.
    assert set(kinds[-2:]) == {"status", "consent"}
    times = events.locator("time").evaluate_all(
        "times => times.filter((t) => t.closest('.event-head')).map((t) => t.dateTime)"
    )
    assert times == sorted(times, reverse=True)
    sync_api.expect(page.locator(".console-actions")).to_contain_text("Nothing to do")
    assert_nothing_cut(page, viewport["width"], "detail")
    height = page.evaluate("document.documentElement.scrollHeight")
    print(f"\n{sent_request.provider} detail at {viewport['width']} px: {height} px tall")
    if viewport["width"] >= 1280:
        assert height <= DETAIL_HEIGHT_LIMIT
        # The actions beside the timeline, not below it.
        timeline = page.locator(".console-timeline").bounding_box()
        actions = page.locator(".console-actions").bounding_box()
        assert actions["x"] >= timeline["x"] + timeline["width"]
        assert actions["y"] < timeline["y"] + timeline["height"]
    assert_accessible(page, f"console detail {viewport['width']}")
    print(f"screenshot: {screenshot(page, f'console-detail-{sent_request.provider}')}")
    assert csp_violations(page) == []

"""The customer waits on the status page while a real worker delivers: how soon the number shows.

The times are printed (`pytest -s` shows them; `make bench` measures them properly); the tests
assert what the customer sees, not how fast.
"""

import re
import time

import pytest
from playwright.sync_api import expect

from tests.support.browser import PHONE, fill_storehub_minimum
from tests.support.workers import start_worker
from tickets.models import Submission

pytestmark = pytest.mark.e2e


def seconds_until_the_number_shows(page, *, sent_at: float, bound: float = 120) -> float:
    """Until the number to quote shows (StoreHub's case number, else the ticket number). Polled
    from Python: the CSP forbids the string waits Playwright would use."""
    numbers = page.locator("#case-number, #ticket-id")
    while time.monotonic() - sent_at < bound:
        for index in range(numbers.count()):
            number = numbers.nth(index)
            if number.is_visible() and (number.text_content() or "").strip():
                return time.monotonic() - sent_at
        time.sleep(0.05)
    raise AssertionError(f"no ticket number on the page after {bound:.0f} s")


@pytest.fixture
def worker(sandbox, tmp_path):
    """A real worker with the production retry waits (2 s, 10 s, 30 s...)."""
    process = start_worker(sandbox, "e2e", tmp_path, FORWARD_RETRY_FIRST_WAITS="2,10,30")
    yield process
    process.terminate()
    process.wait(timeout=10)


def send_storehub_request(browsing) -> tuple:
    page = browsing.page(viewport=PHONE)
    page.goto(browsing.server_url + "/storehub/")
    fill_storehub_minimum(page)
    page.get_by_role("button", name="Send request").click()
    sent_at = time.monotonic()
    page.wait_for_url(re.compile(r"/status/[0-9a-f-]{36}/$"))
    return page, sent_at


@pytest.mark.system
def test_the_number_appears_on_its_own_when_the_provider_answers_at_once(browsing, sandbox, worker):
    page, sent_at = send_storehub_request(browsing)

    waited = seconds_until_the_number_shows(page, sent_at=sent_at)

    print(f"\nsend to number on screen, provider answering at once: {waited:.2f} s")
    submission = Submission.objects.get()
    expect(page.locator("#ticket-id")).to_have_text(submission.ticket_id)
    expect(page.locator("#case-number")).to_have_text(submission.case_number)
    # One number to quote: StoreHub's ticket ID stays out of sight, the reference steps aside.
    expect(page.locator("#case-number")).to_be_visible()
    expect(page.locator("#ticket-id")).to_be_hidden()
    expect(page.locator("#reference-line")).to_have_class("reference-aside")


@pytest.mark.system
@pytest.mark.slow
def test_the_customer_still_on_the_page_gets_the_number_through_errors_and_a_drop(
    browsing, sandbox, worker
):
    sandbox.script("storehub", "503", "500", "drop")
    page, sent_at = send_storehub_request(browsing)

    waited = seconds_until_the_number_shows(page, sent_at=sent_at)

    print(f"\nsend to number on screen through 503, 500 and a dropped connection: {waited:.1f} s")
    submission = Submission.objects.get()
    assert submission.forward_count == 4
    assert submission.possible_duplicate  # the drop came after the request went out
    expect(page.locator("#ticket-id")).to_have_text(submission.ticket_id)
    assert len(sandbox.created("storehub")) == 1


def test_back_after_sending_brings_a_fresh_form_and_an_edited_request_is_a_new_one(browsing):
    page = browsing.page(viewport=PHONE)
    page.goto(browsing.server_url + "/storehub/")
    sent_token = page.locator("input[name=form_token]").input_value()
    fill_storehub_minimum(page)
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url(re.compile(r"/status/[0-9a-f-]{36}/$"))
    first_status = page.url

    page.go_back()
    page.wait_for_url(re.compile(r"/storehub/$"))
    assert page.locator("input[name=form_token]").input_value() != sent_token
    fill_storehub_minimum(page)
    page.get_by_label(re.compile(r"^\s*Issue\b")).fill("Printer jam at the counter")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url(re.compile(r"/status/[0-9a-f-]{36}/$"))

    assert page.url != first_status
    issues = sorted(s.details["issue"] for s in Submission.objects.all())
    assert issues == ["POS swap", "Printer jam at the counter"]

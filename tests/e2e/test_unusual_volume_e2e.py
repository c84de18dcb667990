"""A customer on a phone during a flood of scripted forms: the page does the proof of work out of
sight and the request flows to its ticket number; without JavaScript it is held for a check and
the status page says so. Nothing of it shows while volume is normal."""

import re
import threading
import time

import pytest
import requests
from playwright.sync_api import expect

from tests.support.browser import PHONE, csp_violations, fill_storehub_minimum, on_status_page
from tests.support.factories import storehub_post
from tickets.customer import volume
from tickets.models import Status, Submission

pytestmark = pytest.mark.e2e

THRESHOLD = 20
FLOOD = 120


@pytest.fixture
def flood(portal, settings):
    """Scripted forms from many addresses behind the proxy, sent while the test runs."""
    settings.TRUSTED_PROXY_COUNT = 1
    settings.UNUSUAL_VOLUME_PER_HOUR = THRESHOLD
    volume._busiest.clear()
    answered = []

    def send() -> None:
        for n in range(FLOOD):
            # A script as a stranger writes one: the page for its tokens, then the post; the
            # proof of work on the page is left undone.
            with requests.Session() as script:
                address = {"X-Forwarded-For": f"203.0.113.{n % 250 + 1}"}
                page = script.get(f"{portal.url}/storehub/", headers=address, timeout=30).text
                tokens = dict(
                    re.findall(r'name="(csrfmiddlewaretoken|form_token)" value="([^"]+)"', page)
                )
                answer = script.post(
                    f"{portal.url}/storehub/",
                    storehub_post(name=f"Fake Shop {n}", **tokens),
                    headers={**address, "Referer": f"{portal.url}/storehub/"},
                    allow_redirects=False,
                    timeout=30,
                )
                answered.append(answer.status_code)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while len(answered) <= THRESHOLD and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(answered) > THRESHOLD, "the flood did not start"
    yield answered
    thread.join(timeout=120)
    assert set(answered) == {302}


def send_as_a_customer(page, url: str) -> float:
    page.goto(url + "/storehub/")
    fill_storehub_minimum(page)
    page.get_by_label("Your name").fill("Siti Rahman")
    started = time.monotonic()
    page.get_by_role("button", name="Send request").click()
    for _ in range(200):
        if on_status_page(page):
            break
        page.wait_for_timeout(50)
    return time.monotonic() - started


def test_a_customer_with_javascript_gets_the_ticket_number_during_a_flood(
    browsing, sandbox, run_worker, flood
):
    page = browsing.page(viewport=PHONE)

    seconds = send_as_a_customer(page, browsing.server_url)

    assert on_status_page(page) and seconds < 10
    customer = Submission.objects.get(name="Siti Rahman")
    assert customer.status != Status.CHECKING
    run_worker(max_tasks=300)
    expect(page.locator("#case-number")).to_have_text(re.compile(r"^STOREHUB"), timeout=20_000)
    assert csp_violations(page) == []
    assert Submission.objects.filter(status=Status.CHECKING).exists()


def test_a_customer_without_javascript_is_held_and_told_so(browsing, flood):
    page = browsing.page(viewport=PHONE, javascript=False)

    send_as_a_customer(page, browsing.server_url)

    page.wait_for_url(re.compile(r"/status/[0-9a-f-]{36}/$"))
    assert Submission.objects.get(name="Siti Rahman").status == Status.CHECKING
    expect(page.locator("#status-headline")).to_have_text("Held for a check")
    expect(page.get_by_text("You do not need to send it again")).to_be_visible()


def test_with_normal_volume_the_page_loads_no_proof_of_work(browsing):
    page = browsing.page(viewport=PHONE)
    loaded = []
    page.on("request", lambda request: loaded.append(request.url))

    page.goto(browsing.server_url + "/storehub/")

    expect(page.get_by_role("button", name="Send request")).to_be_visible()
    assert page.locator("#proof-of-work").count() == 0
    assert not [url for url in loaded if "proof_of_work" in url or "altcha" in url]


def test_find_my_request_does_the_proof_of_work_and_sends_the_code(browsing, settings):
    submission = Submission.objects.create(
        provider="storehub", name="Siti Rahman", phone="60198765432", status=Status.SENT
    )
    settings.UNUSUAL_VOLUME_PER_HOUR = 1
    volume._request_counted("storehub")
    page = browsing.page(viewport=PHONE)
    page.goto(browsing.server_url + "/find/")
    assert page.locator("#proof-of-work").count() == 1

    page.get_by_label("Reference").fill(submission.reference)
    page.get_by_label("Phone number").fill("019-876 5432")
    page.get_by_role("button", name="Send me a code").click()

    expect(page.locator("#code-sent")).to_contain_text(submission.reference)
    assert csp_violations(page) == []

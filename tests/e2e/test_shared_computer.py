"""A shared computer (a shop's counter PC, a cyber cafe): a customer who ticks "This is a shared or
public computer" leaves nothing of theirs in the browser for the next person; without the tick the
list of requests expires, a status page opened with a find code is not listed, and a send left
pending by an earlier page is finished only if the person at the screen says so.

Chromium at phone size. What the site keeps is read from the page itself: localStorage, every
IndexedDB store and Cache Storage (where a service worker keeps pages).
"""

import json
import time

import pytest
from playwright.sync_api import expect

from tests.support.browser import (
    PHONE,
    STOREHUB_MINIMUM,
    audit,
    csp_violations,
    fill_storehub_minimum,
    location,
    on_status_page,
)
from tests.support.factories import storehub_data
from tests.support.workers import wait_for
from tickets.customer.access import _phone_digests, access_code_send
from tickets.customer.browser import COOKIE_NAME, browser_key
from tickets.customer.intake import submission_create
from tickets.models import AccessCode, Submission

pytestmark = pytest.mark.e2e

WAITING_TEXT = "No connection. Your request is saved on this phone"
ASKED = "A request typed on this device earlier has not been sent"

# Everything of the site's storage a script can read, as text: each localStorage entry, each
# IndexedDB record of every store, and each response kept in Cache Storage with its address.
SITE_STORAGE = """async () => {
  const kept = {localStorage: {}, indexedDB: {}, caches: {}};
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i);
    kept.localStorage[key] = localStorage.getItem(key);
  }
  for (const info of await indexedDB.databases()) {
    const db = await new Promise((resolve, reject) => {
      const opening = indexedDB.open(info.name);
      opening.onsuccess = () => resolve(opening.result);
      opening.onerror = () => reject(opening.error);
    });
    for (const name of db.objectStoreNames) {
      kept.indexedDB[info.name + "/" + name] = await new Promise((resolve, reject) => {
        const reading = db.transaction(name).objectStore(name).getAll();
        reading.onsuccess = () => resolve(JSON.stringify(reading.result));
        reading.onerror = () => reject(reading.error);
      });
    }
    db.close();
  }
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      kept.caches[request.url] = await response.text();
    }
  }
  return kept;
}"""


def site_storage(page) -> dict:
    return page.evaluate(SITE_STORAGE)


def records(page, store: str) -> list:
    return json.loads(site_storage(page)["indexedDB"].get(f"support-portal/{store}", "[]"))


# A browser without Background Sync (Firefox, Safari), where no service worker sends a kept
# request by itself: what is left pending waits for a page.
NO_BACKGROUND_SYNC = "delete window.SyncManager;"


def phone_page(browsing, *, locale: str = "en-MY", inject_axe: bool = False):
    return browsing.page(viewport=PHONE, block_external=False, locale=locale, inject_axe=inject_axe)


def phone_page_without_background_sync(browsing, *, locale: str = "en-MY", **options):
    page = phone_page(browsing, locale=locale, **options)
    page.context.add_init_script(NO_BACKGROUND_SYNC)
    return page


def typed_by_the_customer() -> list[str]:
    """What the StoreHub customer types that would tell them apart: name, phone, address."""
    typed = {field: value for field, _label, value in STOREHUB_MINIMUM}
    return [typed["name"], typed["phone"], "60198765432", typed["address"]]


def test_a_customer_who_ticks_shared_computer_leaves_nothing_for_the_next_person(browsing, portal):
    page = phone_page(browsing)
    page.goto(portal.url + "/")
    page.get_by_role("link", name="StoreHub on-site service").click()
    wait_for(lambda: location(page) == "/storehub/", 60, what="the form")
    page.wait_for_load_state()  # its scripts listen: typed before they run, nothing is saved
    # The customer starts typing, then notices the choice: the draft already saved goes.
    page.locator("#id_name").fill("Siti Rahman")
    expect(page.locator("#phone-draft")).to_be_visible()
    wait_for(lambda: records(page, "drafts"), 10, what="the draft")
    page.get_by_label("This is a shared or public computer").check()
    expect(page.locator("#phone-draft")).to_be_hidden()
    wait_for(lambda: records(page, "drafts") == [], 10, what="the draft gone")
    fill_storehub_minimum(page)
    time.sleep(1)  # longer than a draft takes to be written
    assert records(page, "drafts") == []
    # The browser is asked not to remember what is typed here.
    assert page.locator("#id_name").get_attribute("autocomplete") == "off"

    # No signal at Send: the page waits and tries again, without a copy kept to send later.
    page.context.set_offline(True)
    page.get_by_role("button", name="Send request").click()
    expect(page.locator("#send-message")).to_contain_text(WAITING_TEXT)
    assert records(page, "outbox") == []
    page.context.set_offline(False)
    wait_for(lambda: on_status_page(page), 120, what="the status page")
    submission = Submission.objects.get()
    expect(page.locator("#reference")).to_have_text(submission.reference)
    # The choice is the page's, never the provider's.
    assert "shared_computer" not in submission.details
    # The page shows the reference and the state, not what the request is about.
    expect(page.locator("#request-summary")).to_have_count(0)
    expect(page.locator("#submission-status")).to_contain_text("Write down your reference")
    # Back: the form's place in the history went to the status page, so the landing page.
    page.go_back()
    wait_for(lambda: location(page) == "/", 60, what="the landing page")
    assert submission.reference not in page.locator("body").inner_text()

    # A second form, half-typed and left: nothing of it is kept either.
    page.goto(portal.url + "/onecloud/")
    page.get_by_label("This is a shared or public computer").check()
    page.locator("#id_name").fill("Siti Rahman")
    page.locator("#id_subject").fill("Printer at 1, Jalan Tun Razak")
    time.sleep(1)
    assert records(page, "drafts") == []

    # The next person at the computer opens the portal.
    context = page.context
    page.close()
    after = context.new_page()
    after.goto(portal.url + "/")
    expect(after.locator("#my-requests")).to_be_hidden()
    for path in ("/", "/storehub/", "/onecloud/"):
        after.goto(portal.url + path)
        time.sleep(0.5)  # a draft would be put back by now
        text = after.locator("body").inner_text()
        values = after.evaluate(
            "() => Array.from(document.querySelectorAll('input, textarea'))"
            ".map((field) => field.value).join(' ')"
        )
        for left in [submission.reference, *typed_by_the_customer(), "Jalan Tun Razak"]:
            assert left not in text, (path, left)
            assert left not in values, (path, left)
    expect(after.locator("#phone-pending-ask")).to_be_hidden()

    kept = json.dumps(site_storage(after))
    for left in [submission.reference, str(submission.public_id), *typed_by_the_customer()]:
        assert left not in kept, left
    assert csp_violations(after) == []


def test_requests_listed_longer_than_the_setting_vanish(browsing, portal, settings):
    settings.MY_REQUESTS_KEEP_DAYS = 10
    page = phone_page(browsing)
    page.goto(portal.url + "/")
    day = 24 * 3600 * 1000
    page.evaluate(
        """(day) => localStorage.setItem("support-portal.requests", JSON.stringify([
            {reference: "REQ-NEWER1", url: "/status/newer/", service: "", headline: "",
             at: Date.now() - 9 * day},
            {reference: "REQ-OLDER1", url: "/status/older/", service: "", headline: "",
             at: Date.now() - 11 * day},
        ]))""",
        day,
    )

    page.reload()

    expect(page.locator("#my-requests")).to_contain_text("REQ-NEWER1")
    expect(page.locator("#my-requests")).not_to_contain_text("REQ-OLDER1")
    kept = site_storage(page)["localStorage"]["support-portal.requests"]
    assert "REQ-NEWER1" in kept and "REQ-OLDER1" not in kept


@pytest.mark.parametrize("shared", [False, True], ids=["own computer", "shared computer"])
def test_a_status_page_opened_with_a_find_code_is_not_listed(browsing, portal, shared):
    submission = submission_create(
        provider="storehub", data=storehub_data(phone="60198765432"), language="en"
    )
    page = phone_page(browsing)
    page.goto(portal.url + "/find/")
    page.get_by_label("Reference").fill(submission.reference)
    page.get_by_label("Phone number").fill("019-876 5432")
    if shared:
        page.get_by_label("This is a shared or public computer").check()
        assert page.get_by_label("Phone number").get_attribute("autocomplete") == "off"
    page.get_by_role("button", name="Send me a code").click()
    expect(page.locator("#code-sent")).to_contain_text(submission.reference)
    # What the worker does with the task the page queued (the code goes by e-mail).
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == COOKIE_NAME)
    access_code_send(
        reference=submission.reference,
        phone_digests=_phone_digests("019-876 5432"),
        browser_key=browser_key(cookie),
    )
    page.locator("#id_code").fill(AccessCode.objects.get().code_to_send)
    page.get_by_role("button", name="Show my request").click()

    wait_for(lambda: on_status_page(page), 60, what="the status page from the code")
    expect(page.locator("#reference")).to_have_text(submission.reference)
    # A shared computer's page shows no more than the reference and the state.
    expect(page.locator("#request-summary")).to_have_count(0 if shared else 1)
    page.goto(portal.url + "/")
    expect(page.locator("#my-requests")).to_be_hidden()
    kept = site_storage(page)
    assert submission.reference not in json.dumps(kept["localStorage"])
    if shared:  # nor a copy of the page to open offline
        assert submission.reference not in json.dumps(kept)


def no_signal_for_sends(route) -> None:
    """A send fails at once, as with no signal. (Chromium's offline emulation may hold a send
    made as it starts and let it through later, which a phone with no signal never does.)"""
    if route.request.method == "POST":
        route.abort("internetdisconnected")
    else:
        route.continue_()


def send_with_no_signal(page, portal) -> None:
    """The customer fills the StoreHub form and presses Send as the signal goes."""
    page.goto(portal.url + "/storehub/")
    fill_storehub_minimum(page, by_id=True)
    page.route("**/storehub/", no_signal_for_sends)
    page.locator("#request-form button[type=submit]").click()
    expect(page.locator("#send-message")).not_to_be_empty()


def leave_a_send_pending(page, portal) -> None:
    """The customer presses Send with no signal, gives up and goes to another site in that tab."""
    send_with_no_signal(page, portal)
    wait_for(lambda: records(page, "outbox"), 30, what="the send kept on the phone")
    page.goto("about:blank")


def test_a_send_left_pending_by_an_earlier_page_is_sent_when_the_next_page_is_told_to(
    browsing, portal
):
    first = phone_page_without_background_sync(browsing)
    context = first.context
    leave_a_send_pending(first, portal)

    page = context.new_page()
    page.goto(portal.url + "/")
    question = page.locator("#phone-pending-ask")
    expect(question).to_be_visible()
    expect(question).to_contain_text(ASKED)
    # Enough to recognise it, nothing typed in it.
    expect(question).to_contain_text("StoreHub")
    for typed in typed_by_the_customer():
        expect(question).not_to_contain_text(typed)
    time.sleep(1)
    assert Submission.objects.count() == 0  # nothing goes before the answer

    question.get_by_role("button", name="Send it").click()

    expect(page.locator("#phone-pending")).to_contain_text(
        "Your saved request was sent", timeout=30_000
    )
    submission = Submission.objects.get()
    expect(page.locator("#phone-pending a")).to_have_text(submission.reference)
    expect(page.locator("#my-requests")).to_contain_text(submission.reference)
    assert records(page, "outbox") == []


def test_a_send_left_pending_is_discarded_when_the_next_page_is_told_to(browsing, portal):
    first = phone_page_without_background_sync(browsing, locale="ms-MY", inject_axe=True)
    context = first.context
    leave_a_send_pending(first, portal)

    # The next person opens the form itself: it stays empty while the question is open.
    page = context.new_page()
    page.goto(portal.url + "/storehub/")
    question = page.locator("#phone-pending-ask")
    expect(question).to_contain_text("Permintaan yang ditaip pada peranti ini sebelum ini")
    expect(page.locator("#id_name")).to_have_value("")
    audit(page, "pending-send-question")

    question.get_by_role("button", name="Buang").click()

    expect(question).to_be_hidden()
    wait_for(lambda: records(page, "outbox") == [], 10, what="the send discarded")
    assert records(page, "drafts") == []
    time.sleep(2)
    assert Submission.objects.count() == 0
    page.reload()
    time.sleep(0.5)
    expect(page.locator("#id_name")).to_have_value("")
    expect(question).to_be_hidden()


def test_the_tab_that_started_a_send_finishes_it_without_asking(browsing, portal):
    page = phone_page_without_background_sync(browsing)
    # The line drops at Send: the page keeps the send and waits.
    send_with_no_signal(page, portal)
    expect(page.locator("#send-message")).to_contain_text(WAITING_TEXT)

    # The same tab opens another portal page before the send went; then the line is back.
    page.goto(portal.url + "/")
    expect(page.locator("#phone-pending")).to_contain_text(WAITING_TEXT)
    page.unroute("**/storehub/")

    expect(page.locator("#phone-pending")).to_contain_text(
        "Your saved request was sent", timeout=30_000
    )
    expect(page.locator("#phone-pending-ask")).to_be_hidden()
    assert Submission.objects.count() == 1


def test_a_send_another_open_tab_is_sending_is_left_to_that_tab(browsing, portal):
    page = phone_page_without_background_sync(browsing)
    send_with_no_signal(page, portal)
    expect(page.locator("#send-message")).to_contain_text(WAITING_TEXT)

    other = page.context.new_page()
    other.goto(portal.url + "/")
    time.sleep(1)  # the question would be up by now
    expect(other.locator("#phone-pending-ask")).to_be_hidden()

    page.unroute("**/storehub/")
    wait_for(lambda: on_status_page(page), 120, what="the status page")
    assert Submission.objects.count() == 1

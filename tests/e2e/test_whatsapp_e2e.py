"""A StoreHub customer on a phone, in Malay, ticks "Send me updates on WhatsApp" and writes to the
business with the status page's button: the receipt and the ticket number then reach the
sandbox's WhatsApp in Malay; later, with the status link lost, the customer finds the request
again by phone number and reference, with the code WhatsApp brought."""

import json
import time

import pytest
from django.conf import settings as django_settings
from django.test import Client
from playwright.sync_api import expect

from tests.support.browser import (
    assert_accessible,
    csp_violations,
    fill_storehub_minimum,
    on_status_page,
)
from tests.support.workers import start_worker, wait_for
from tickets.delivery.whatsapp.sandbox import webhook_payload
from tickets.delivery.whatsapp.webhook import sign
from tickets.models import Submission

pytestmark = [pytest.mark.e2e, pytest.mark.system]


@pytest.fixture
def worker(sandbox, whatsapp, settings, tmp_path):
    """A real worker, sending WhatsApp messages to the sandbox's fake Cloud API as the web does."""
    options = settings.WHATSAPP
    environment = {
        "WHATSAPP_API_URL": options["API_URL"],
        "WHATSAPP_PHONE_NUMBER_ID": options["PHONE_NUMBER_ID"],
        "WHATSAPP_ACCESS_TOKEN": options["ACCESS_TOKEN"],
        "WHATSAPP_APP_SECRET": options["APP_SECRET"] or "app-secret",
        "WHATSAPP_VERIFY_TOKEN": options["VERIFY_TOKEN"] or "verify-token",
        **{
            f"WHATSAPP_TEMPLATE_{kind.upper()}": name for kind, name in options["TEMPLATES"].items()
        },
    }
    process = start_worker(sandbox, "whatsapp", tmp_path, **environment)
    yield process
    process.terminate()
    process.wait(timeout=10)


def customer_writes(*, phone: str, text: str) -> None:
    """What Meta's webhook posts when the customer writes to the business number."""
    message = {"from": phone, "id": "wamid.first-message", "timestamp": str(int(time.time()))}
    body = json.dumps(
        webhook_payload({"messages": [{**message, "type": "text", "text": {"body": text}}]})
    ).encode()
    response = Client().post(
        "/whatsapp/webhook/",
        data=body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=sign(body, django_settings.WHATSAPP["APP_SECRET"]),
    )
    assert response.status_code == 200


def templates_sent(whatsapp) -> list[tuple[str, str]]:
    return [(m["template"]["name"], m["template"]["language"]["code"]) for m in whatsapp.sent]


@pytest.mark.parametrize(
    "viewport", [{"width": 360, "height": 740}, {"width": 1280, "height": 800}], ids=["360", "1280"]
)
def test_updates_on_whatsapp_and_the_request_found_again_by_phone(
    browsing, whatsapp, worker, viewport
):
    page = browsing.page(viewport=viewport, locale="ms-MY", inject_axe=True)
    page.goto(browsing.server_url + "/storehub/")
    fill_storehub_minimum(page, by_id=True)
    box = page.get_by_label("Hantar makluman kepada saya melalui WhatsApp")
    expect(box).not_to_be_checked()
    box.check()
    page.locator("form[data-submit-once] button[type=submit]").click()
    wait_for(lambda: on_status_page(page), 60, what="the status page")

    # Nothing goes to a number that has not written to the business: the page says how to start.
    submission = Submission.objects.get()
    button = page.get_by_role("link", name="Tulis kepada kami di WhatsApp")
    expect(button).to_have_attribute(
        "href", f"https://wa.me/60300000000?text={submission.reference}"
    )
    assert_accessible(page, f"status page with the WhatsApp button {viewport['width']}")
    withheld = submission.whatsapp_messages.filter(state="withheld")
    wait_for(lambda: withheld.count() == 2, 60, what="both messages withheld")
    assert whatsapp.sent == []
    # The customer presses the button and sends the message WhatsApp wrote.
    customer_writes(phone="60198765432", text=submission.reference)

    wait_for(lambda: len(whatsapp.sent) == 2, 60, what="the receipt and the ticket number")
    assert templates_sent(whatsapp) == [("portal_receipt", "ms"), ("portal_ticket_number", "ms")]
    submission.refresh_from_db()
    assert whatsapp.sent[1]["template"]["components"][0]["parameters"][1]["text"] == (
        submission.case_number
    )

    # Later, on another phone, without the link: the reference and the phone number.
    other = browsing.page(viewport=viewport, locale="ms-MY", inject_axe=True)
    other.goto(browsing.server_url + "/")
    other.get_by_role("link", name="Kehilangan pautan permintaan?", exact=False).click()
    assert_accessible(other, f"find my request {viewport['width']}")
    other.get_by_label("Nombor rujukan").fill(submission.reference.lower())
    other.get_by_label("Nombor telefon").fill("019-876 5432")
    other.get_by_role("button", name="Hantar kod kepada saya").click()
    expect(other.locator("#code-sent")).to_contain_text(submission.reference)
    wait_for(lambda: len(whatsapp.sent) == 3, 60, what="the code on WhatsApp")
    code_message = whatsapp.sent[2]
    assert templates_sent(whatsapp)[2] == ("portal_access_code", "ms")
    code = code_message["template"]["components"][0]["parameters"][0]["text"]

    other.locator("#id_code").fill(code)
    assert_accessible(other, f"enter the code {viewport['width']}")
    other.get_by_role("button", name="Tunjukkan permintaan saya").click()
    wait_for(lambda: on_status_page(other), 30, what="the status page from the code")
    expect(other.locator("#reference")).to_have_text(submission.reference)
    assert csp_violations(page) == [] and csp_violations(other) == []

"""Every customer page passes axe-core's WCAG 2.1 A/AA rules, on a desktop and a 360 px phone.

Each page is also kept as a screenshot in artifacts/screenshots/ for review.
"""

import pytest
from playwright.sync_api import expect

from tests.providers import PROVIDERS
from tests.support.browser import (
    DESKTOP,
    PHONE,
    audit,
    fill_storehub_minimum,
    location,
    on_status_page,
)
from tests.support.factories import CUSTOMER_DATA, camera_photo_bytes, onecloud_data, png_bytes
from tests.support.workers import wait_for
from tickets.customer.intake import submission_create
from tickets.models import Status, Submission
from tickets.providers import get_provider

pytestmark = pytest.mark.e2e

VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])


def send_with_errors(page) -> None:
    """Post the form as a browser would, but past its own checks, to see the server's errors."""
    page.eval_on_selector("form[data-submit-once]", "form => { form.noValidate = true; }")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_load_state()
    expect(page.locator("#error-summary")).to_be_visible()


@VIEWPORTS
def test_landing_page(browsing, viewport):
    page = browsing.page(viewport=viewport, inject_axe=True)
    page.goto(browsing.server_url + "/")

    audit(page, "landing")


@VIEWPORTS
@pytest.mark.parametrize("language", ["en", "ms", "id"])
def test_privacy_notice_reached_from_the_form(browsing, viewport, language):
    page = browsing.page(viewport=viewport, inject_axe=True, locale=language)
    page.goto(browsing.server_url + "/storehub/")
    page.locator(".request-form + p a[href='/privacy/']").click()
    page.wait_for_load_state()

    assert location(page) == "/privacy/"
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("h1")).to_have_text(PRIVACY_TITLES[language])
    audit(page, f"privacy-{language}")


PRIVACY_TITLES = {"en": "Privacy notice", "ms": "Notis privasi", "id": "Pemberitahuan privasi"}


@VIEWPORTS
@pytest.mark.parametrize("provider", PROVIDERS)
def test_empty_form(browsing, viewport, provider):
    page = browsing.page(viewport=viewport, inject_axe=True)
    page.goto(f"{browsing.server_url}/{provider}/")
    if "latitude" in get_provider(provider).form_class.base_fields:
        expect(page.locator(".leaflet-container")).to_be_visible()  # audited drawn

    audit(page, f"{provider}-form")


@VIEWPORTS
def test_onecloud_form_with_errors_and_a_kept_file(browsing, viewport, tmp_path):
    picture = tmp_path / "brochure.png"
    picture.write_bytes(png_bytes())
    page = browsing.page(viewport=viewport, inject_axe=True)
    page.goto(browsing.server_url + "/onecloud/")
    page.get_by_label("E-mail").fill("not an address")
    page.get_by_label("Subject").fill("Printer")
    page.get_by_label("Picture").set_input_files(picture)
    page.get_by_label("Latitude").fill("95")

    send_with_errors(page)

    expect(page.get_by_label("Keep the file you chose: brochure.png")).to_be_checked()
    expect(page.get_by_label("Subject")).to_have_value("Printer")
    expect(page.locator("#error-summary")).to_be_focused()
    audit(page, "onecloud-form-errors")


@VIEWPORTS
def test_storehub_form_with_errors(browsing, viewport):
    page = browsing.page(viewport=viewport, inject_axe=True)
    page.goto(browsing.server_url + "/storehub/")
    page.get_by_label("Your name").fill("Ahmad Ibrahim")
    page.get_by_label("Phone number").fill("12345")

    send_with_errors(page)

    expect(page.get_by_label("Your name")).to_have_value("Ahmad Ibrahim")
    expect(page.get_by_text("Enter a phone number such as").first).to_be_visible()
    audit(page, "storehub-form-errors")


@VIEWPORTS
@pytest.mark.parametrize(
    ("provider", "status", "numbers"),
    [
        ("onecloud", Status.QUEUED, {}),
        ("onecloud", Status.RETRYING, {}),
        ("storehub", Status.SENT, {"ticket_id": "1000", "case_number": "STOREHUB1000-CA1B2C3D"}),
    ],
    ids=["queued", "retrying", "sent"],
)
def test_status_page(browsing, viewport, provider, status, numbers):
    submission = submission_create(provider=provider, data=CUSTOMER_DATA[provider]())
    Submission.objects.filter(pk=submission.pk).update(status=status, **numbers)
    page = browsing.page(viewport=viewport, inject_axe=True)

    page.goto(f"{browsing.server_url}/status/{submission.public_id}/")

    expect(page.locator("#reference")).to_have_text(submission.reference)
    audit(page, f"status-{status}")


@VIEWPORTS
def test_form_kept_on_the_phone_with_a_photo_waiting_for_the_signal(browsing, viewport, tmp_path):
    photo = tmp_path / "counter.jpg"
    photo.write_bytes(camera_photo_bytes(width=1200, height=900))
    page = browsing.page(viewport=viewport, inject_axe=True)
    earlier = submission_create(provider="onecloud", data=onecloud_data())
    page.goto(f"{browsing.server_url}/status/{earlier.public_id}/")  # listed on this phone
    page.goto(browsing.server_url + "/onecloud/")
    page.get_by_label("Full name").fill("Agung Januar")
    page.get_by_label("Picture").set_input_files(photo)
    expect(page.locator("#id_attachment_preview img")).to_be_visible()
    expect(page.locator("#phone-draft")).to_be_visible()
    expect(page.locator("#my-requests")).to_contain_text(earlier.reference)

    page.context.set_offline(True)
    page.get_by_role("button", name="Send request").click()
    expect(page.locator("#send-message")).to_contain_text("No connection")

    audit(page, "onecloud-form-kept-offline")


@VIEWPORTS
def test_form_showing_the_request_already_sent(browsing, viewport):
    page = browsing.page(viewport=viewport, inject_axe=True)
    for _time in range(2):
        page.goto(browsing.server_url + "/storehub/")
        fill_storehub_minimum(page)
        page.get_by_role("button", name="Send request").click()
        wait_for(
            lambda: on_status_page(page) or page.locator("#already-sent").is_visible(),
            120,
            what="the status page or the notice",
        )
    expect(page.locator("#already-sent")).to_be_visible()

    audit(page, "storehub-form-already-sent")

"""A customer on a phone and mobile data: small photos, a draft kept on the phone, sending that
outlasts a dropped line, and a request sent twice by mistake caught.

Chromium at phone size on Lighthouse's mobile profile; where the line must really drop (an upload
cut half-way), the page goes through a PhoneLine (tests/support/line.py) that the test cuts.
"""

import io
import re
import time
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.support.browser import (
    KEPT_SENDS,
    PHONE,
    csp_violations,
    fill_storehub_minimum,
    location,
    on_status_page,
)
from tests.support.factories import camera_photo_bytes
from tests.support.line import MOBILE_PROFILE, PhoneLine, emulate_mobile_network
from tests.support.workers import wait_for
from tickets.models import Attachment, Submission

pytestmark = pytest.mark.e2e

# As long as the customer stood in the lift: the page must wait, and then send by itself.
OUTAGE_SECONDS = 20
WAITING_TEXT = "No connection. Your request is saved on this phone"


@pytest.fixture
def camera_photo(tmp_path):
    """A 12 MP photo as the camera stored it: on its side, with "turn it upright" in EXIF."""
    path = tmp_path / "IMG_20261130_101500.jpg"
    path.write_bytes(camera_photo_bytes(orientation=6))
    return path


@pytest.fixture
def line(portal):
    """The phone's mobile line between Chromium and the portal, to be cut by the test."""
    address = urlsplit(portal.url)
    with PhoneLine(address.hostname, address.port, **MOBILE_PROFILE) as phone_line:
        yield phone_line


def phone_page(browsing, *, locale: str = "en-MY", line: PhoneLine | None = None):
    """A phone on the mobile profile: Chromium's emulation, or a PhoneLine the test can cut."""
    page = browsing.page(viewport=PHONE, block_external=False, locale=locale)
    # The emulation lasts as long as its session is referenced.
    page.context.mobile_network = emulate_mobile_network(page, behind_line=line is not None)
    return page


def fill_onecloud(page, *, photo=None) -> None:
    page.locator("#id_name").fill("Agung Januar")
    page.locator("#id_email").fill("agung@email.com")
    page.locator("#id_category").select_option("Question")
    page.locator("#id_subject").fill("Printer offline")
    page.locator("#id_content").fill("The receipt printer stopped after the update.")
    if photo is not None:
        page.locator("#id_attachment").set_input_files(photo)
        expect(page.locator("#id_attachment_preview")).to_contain_text("To be sent", timeout=30_000)


def stored_photo(submission: Submission) -> Image.Image:
    attachment = Attachment.objects.get(submission=submission, role="attachment")
    with attachment.file.open("rb") as handle:
        data = handle.read()
    image = Image.open(io.BytesIO(data))
    image.load()
    image.size_in_bytes = len(data)
    return image


def test_a_camera_photo_is_sent_small_upright_and_without_its_position(
    browsing, line, camera_photo
):
    page = phone_page(browsing, line=line)
    page.goto(line.url + "/onecloud/")
    fill_onecloud(page, photo=camera_photo)

    preview = page.locator("#id_attachment_preview")
    expect(preview.locator("img")).to_be_visible()
    expect(preview).to_contain_text("IMG_20261130_101500.jpg")
    expect(preview).to_contain_text("Made smaller for a quick send")
    page.get_by_role("button", name="Send request").click()
    sent_at = time.monotonic()

    # The customer watches the bytes go.
    wait_for(lambda: page.locator("#send-progress").is_visible(), 120, what="the progress bar")
    expect(page.locator("#send-progress-text")).to_contain_text(re.compile(r"\d+% · .* of .* sent"))
    wait_for(lambda: on_status_page(page), 120, what="the status page")
    seconds = time.monotonic() - sent_at
    print(f"\n12 MP photo, Send to status page on the mobile profile: {seconds:.1f} s")

    submission = Submission.objects.get()
    photo = stored_photo(submission)
    assert photo.format == "JPEG"
    assert photo.size_in_bytes <= 600 * 1024
    # Turned upright in the phone (the camera stored it on its side), long side 2048 px.
    assert photo.size == (1536, 2048)
    exif = photo.getexif()
    assert exif.get_ifd(0x8825) == {}  # no GPS
    assert 0x010F not in exif and 0x0110 not in exif  # no maker, no model
    assert csp_violations(page) == []


@pytest.mark.parametrize(
    ("locale", "language", "waiting_text", "button_text", "outage"),
    [
        ("en-MY", "en", WAITING_TEXT, "Waiting for signal", OUTAGE_SECONDS),
        ("ms-MY", "ms", "Tiada sambungan", "Menunggu isyarat", 3),
        ("id-ID", "id", "Tidak ada koneksi", "Menunggu sinyal", 3),
    ],
)
@pytest.mark.slow
def test_offline_at_send_the_request_goes_by_itself_when_the_signal_returns(
    browsing, portal, locale, language, waiting_text, button_text, outage
):
    page = phone_page(browsing, locale=locale)
    page.goto(portal.url + "/storehub/")
    assert page.locator("html").get_attribute("lang") == language
    fill_storehub_minimum(page, by_id=True)

    page.context.set_offline(True)
    page.locator("#request-form button[type=submit]").click()
    expect(page.locator("#send-message")).to_contain_text(waiting_text)
    # The button says so too, without a spinner claiming a progress that is not happening.
    button = page.locator("#request-form button[type=submit]")
    expect(button).to_have_text(button_text)
    expect(button.locator(".spinner-border")).to_have_count(0)
    time.sleep(outage)
    assert Submission.objects.count() == 0
    page.context.set_offline(False)

    wait_for(lambda: on_status_page(page), 120, what="the status page")
    submission = Submission.objects.get()
    expect(page.locator("#reference")).to_have_text(submission.reference)
    assert submission.language == language


@pytest.mark.slow
def test_the_line_cut_while_the_photo_goes_up_sends_it_again_with_the_photo(
    browsing, line, camera_photo
):
    page = phone_page(browsing, line=line)
    page.goto(line.url + "/onecloud/")
    fill_onecloud(page, photo=camera_photo)
    before = line.bytes_up

    page.get_by_role("button", name="Send request").click()
    # 3 s into the upload at 750 kbps: well inside the photo.
    wait_for(lambda: line.bytes_up - before > 3 * MOBILE_PROFILE["up_bytes_per_second"], 120)
    line.cut()
    expect(page.locator("#send-message")).to_contain_text(WAITING_TEXT, timeout=30_000)
    time.sleep(OUTAGE_SECONDS)
    assert Submission.objects.count() == 0  # half a request is never kept
    line.restore()

    wait_for(lambda: on_status_page(page), 120, what="the status page")
    submission = Submission.objects.get()
    assert Attachment.objects.filter(submission=submission, role="attachment").count() == 1
    assert stored_photo(submission).size == (1536, 2048)


def test_a_send_left_pending_in_a_closed_tab_goes_when_the_signal_returns_and_is_listed(
    browsing, portal
):
    page = phone_page(browsing)
    page.goto(portal.url + "/storehub/")
    fill_storehub_minimum(page)
    page.context.set_offline(True)
    page.get_by_role("button", name="Send request").click()
    expect(page.locator("#send-message")).to_contain_text(WAITING_TEXT)
    page.close()  # the customer gives up and closes the tab

    # The signal returns: Chromium's Background Sync has the service worker send it, with no
    # portal page open (another browser's next page would ask whose it is first).
    notice = page.context.new_page()
    notice.goto(portal.url + "/privacy/")  # a page of the portal without its scripts
    page.context.set_offline(False)
    wait_for(lambda: Submission.objects.count() == 1, 60, what="the request sent")
    wait_for(lambda: notice.evaluate(KEPT_SENDS) == 0, 60, what="the send no longer kept")
    notice.close()
    again = page.context.new_page()
    again.goto(portal.url + "/")

    expect(again.locator("#phone-pending")).to_contain_text(
        "Your saved request was sent", timeout=30_000
    )
    submission = Submission.objects.get()
    expect(again.locator("#phone-pending a")).to_have_text(submission.reference)
    expect(again.locator("#my-requests")).to_contain_text(submission.reference)


def test_what_was_typed_and_the_photo_survive_a_closed_tab_and_a_language_switch(
    browsing, portal, camera_photo
):
    page = phone_page(browsing)
    page.goto(portal.url + "/onecloud/")
    fill_onecloud(page, photo=camera_photo)
    page.locator("#id_latitude").fill("-6.200000")
    page.locator("#id_longitude").fill("106.816666")
    expect(page.locator("#phone-draft")).to_contain_text("Saved on this phone")
    time.sleep(1)  # the draft is written a moment after the last keystroke
    context = page.context
    page.close()  # Android drops the tab while the customer takes a call

    page = context.new_page()
    page.goto(portal.url + "/onecloud/")
    expect(page.locator("#id_subject")).to_have_value("Printer offline")
    expect(page.locator("#id_category")).to_have_value("Question")
    expect(page.locator("#id_latitude")).to_have_value("-6.200000")
    expect(page.locator("#id_attachment_preview img")).to_be_visible()
    expect(page.locator(".leaflet-marker-icon")).to_be_visible()

    page.get_by_role("button", name="Bahasa Melayu").click()
    page.wait_for_url(portal.url + "/onecloud/")
    assert page.locator("html").get_attribute("lang") == "ms"
    expect(page.locator("#id_content")).to_have_value(
        "The receipt printer stopped after the update."
    )
    expect(page.locator("#phone-draft")).to_be_visible()
    expect(page.locator("#id_attachment_preview img")).to_be_visible()

    page.locator("#request-form button[type=submit]").click()
    wait_for(lambda: on_status_page(page), 120, what="the status page")
    submission = Submission.objects.get()
    assert submission.details["subject"] == "Printer offline"
    assert stored_photo(submission).size == (1536, 2048)

    # Stored: the draft is gone, and the form opens empty.
    page.goto(portal.url + "/onecloud/")
    expect(page.locator("#my-requests")).to_contain_text(submission.reference)
    time.sleep(1)
    expect(page.locator("#id_subject")).to_have_value("")
    expect(page.locator("#phone-draft")).to_be_hidden()


def test_what_was_typed_survives_a_rate_limit_page_and_start_again_clears_it(
    browsing, portal, settings
):
    page = phone_page(browsing)
    page.goto(portal.url + "/storehub/")
    fill_storehub_minimum(page)
    settings.FORM_RATE_LIMIT = 0

    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("heading", name="Please wait a moment")).to_be_visible()
    assert Submission.objects.count() == 0
    # The wait is said on the form itself, with everything typed still in it.
    expect(page.locator("#id_name")).to_have_value("Siti Rahman")
    expect(page.locator("#id_state")).to_have_value("Kuala Lumpur")

    page.goto(portal.url + "/storehub/")
    expect(page.locator("#id_name")).to_have_value("Siti Rahman")
    expect(page.locator("#id_state")).to_have_value("Kuala Lumpur")
    page.get_by_role("button", name="Start again").click()
    page.wait_for_load_state()
    expect(page.locator("#phone-draft")).to_be_hidden()
    expect(page.locator("#id_name")).to_have_value("")


def test_back_then_send_unchanged_shows_the_request_already_made(browsing, portal):
    page = phone_page(browsing)
    page.goto(portal.url + "/storehub/")
    fill_storehub_minimum(page)
    page.get_by_role("button", name="Send request").click()
    wait_for(lambda: on_status_page(page), 120, what="the status page")
    first = Submission.objects.get()

    page.go_back()
    wait_for(lambda: location(page) == "/storehub/", 120, what="the form again")
    if not page.locator("#id_name").input_value():
        fill_storehub_minimum(page)  # the browser did not refill the fields: the customer does
    page.get_by_role("button", name="Send request").click()

    notice = page.locator("#already-sent")
    expect(notice).to_contain_text(f"You already sent this: {first.reference}")
    assert Submission.objects.count() == 1
    expect(notice.get_by_role("link", name="See that request")).to_have_attribute(
        "href", f"/status/{first.public_id}/"
    )

    notice.get_by_role("button", name="Send it again as a new request").click()
    wait_for(lambda: on_status_page(page), 120, what="the status page")
    assert Submission.objects.count() == 2
    assert str(first.public_id) not in location(page)


def test_the_server_answers_a_background_send_with_the_form_and_its_errors(browsing, portal):
    page = phone_page(browsing)
    page.goto(portal.url + "/storehub/")
    fill_storehub_minimum(page)
    page.get_by_label("Phone number").fill("12345")

    page.get_by_role("button", name="Send request").click()

    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#error-summary")).to_contain_text("Phone number")
    page.get_by_label("Phone number").fill("019-876 5432")
    page.get_by_role("button", name="Send request").click()
    wait_for(lambda: on_status_page(page), 120, what="the status page")
    assert Submission.objects.get().phone == "60198765432"
    assert csp_violations(page) == []


OLDER_BROWSERS = {
    # Safari before 14.1: a script cannot put a file in a file input.
    "no DataTransfer": "delete window.DataTransfer;",
    # Firefox before 111: createImageBitmap refuses the orientation option.
    "no imageOrientation": """
        const original = window.createImageBitmap;
        window.createImageBitmap = (image, options) =>
            options ? Promise.reject(new TypeError("imageOrientation")) : original(image);
    """,
}


@pytest.mark.parametrize("browser_gap", sorted(OLDER_BROWSERS))
def test_older_browsers_still_send_the_photo_small_and_upright(
    browsing, portal, camera_photo, browser_gap
):
    page = browsing.page(viewport=PHONE)
    page.context.add_init_script(OLDER_BROWSERS[browser_gap])
    page.goto(portal.url + "/onecloud/")
    fill_onecloud(page, photo=camera_photo)
    expect(page.locator("#id_attachment_preview")).to_contain_text("Made smaller")

    page.get_by_role("button", name="Send request").click()

    wait_for(lambda: on_status_page(page), 120, what="the status page")
    photo = stored_photo(Submission.objects.get())
    assert photo.size == (1536, 2048)
    assert photo.size_in_bytes <= 600 * 1024

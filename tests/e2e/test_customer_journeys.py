"""A customer fills each form as a person would and sees the provider's ticket number appear."""

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import DESKTOP, PHONE, csp_violations, fill_storehub_minimum
from tests.support.factories import png_bytes
from tickets.models import Submission

pytestmark = pytest.mark.e2e


def drop_pin(page, *, x: int, y: int) -> tuple[float, float]:
    """Click the map where the customer's place is; return the coordinates the fields now hold."""
    map_area = page.get_by_role("region", name="Map")
    expect(map_area).to_be_visible()
    map_area.click(position={"x": x, "y": y})
    latitude = page.get_by_label("Latitude")
    expect(latitude).not_to_have_value("")
    expect(page.locator(".leaflet-marker-icon")).to_be_visible()
    return float(latitude.input_value()), float(page.get_by_label("Longitude").input_value())


def mark_page(page) -> None:
    # Survives only if the page is never reloaded.
    page.evaluate("window.__sameDocument = true")


def still_same_page(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def test_onecloud_request_with_a_picture_and_a_pin_gets_its_ticket_number(
    browsing, sandbox, run_worker, tmp_path
):
    picture = tmp_path / "shop-front.png"
    picture.write_bytes(png_bytes())
    page = browsing.page(viewport=DESKTOP)
    page.goto(browsing.server_url + "/")

    page.get_by_role("link", name="OneCloud support").click()
    page.get_by_label("Full name").fill("Agung Januar")
    page.get_by_label("E-mail").fill("agung@email.com")
    page.get_by_label("Category").select_option(label="Question")
    page.get_by_label("Subject").fill("Subscribe to onebox")
    page.get_by_label("Describe your request").fill("Hello, how do I subscribe to onebox?")
    page.get_by_label("Picture").set_input_files(picture)
    latitude, longitude = drop_pin(page, x=220, y=140)
    page.get_by_role("button", name="Send request").click()

    page.wait_for_url(re.compile(r"/status/[0-9a-f-]{36}/$"))
    submission = Submission.objects.get()
    expect(page.locator("#reference")).to_have_text(submission.reference)
    expect(page.get_by_text("The ticket number appears on this page")).to_be_visible()
    mark_page(page)

    run_worker()

    expect(page.locator("#ticket-id")).to_have_text(re.compile(r"^\d+$"), timeout=20_000)
    expect(page.locator("#status-headline")).to_have_text("Ticket created")
    assert still_same_page(page)
    [request] = sandbox.requests("onecloud")
    body = request["body"]
    assert request["content_type"].startswith("multipart/form-data")
    assert {key: body[key] for key in ("fullName", "contact", "subject", "category")} == {
        "fullName": "Agung Januar",
        "contact": "agung@email.com",
        "subject": "Subscribe to onebox",
        "category": "Question",
    }
    assert body["content"] == "Hello, how do I subscribe to onebox?"
    assert body["attachment"]["filename"] == "shop-front.png"
    assert body["attachment"]["size"] == len(png_bytes())
    assert "file" not in body
    sent_latitude, sent_longitude = (float(part) for part in body["coordinate"].split(","))
    assert sent_latitude == pytest.approx(latitude, abs=1e-6)
    assert sent_longitude == pytest.approx(longitude, abs=1e-6)
    assert re.fullmatch(r"-?\d+\.\d{6},-?\d+\.\d{6}", body["coordinate"])
    # The pin was dropped near where OneCloud's map opens (Jakarta) with no tile ever loaded.
    assert abs(latitude - -6.2) < 0.5 and abs(longitude - 106.8166) < 0.5
    assert any("tile.openstreetmap.org" in url for url in browsing.blocked)
    expect(page.locator("#ticket-id")).to_have_text(request["ticket"])
    assert csp_violations(page) == []


def test_storehub_visit_booked_on_a_phone_shows_case_number_and_ticket_id(
    browsing, sandbox, run_worker
):
    page = browsing.page(viewport=PHONE)
    page.goto(browsing.server_url + "/storehub/")

    page.get_by_label("Your name").fill("Ahmad Ibrahim")
    page.get_by_label("Phone number").fill("012-345 6789")
    page.get_by_label("E-mail").fill("ahmad_ibrahim@gmail.com")
    page.get_by_label("Send me SMS updates").check()
    page.get_by_label("Shop name").fill("KL Branch")
    page.get_by_label("Dealer or reseller").fill("Alex")
    page.get_by_label("Shop address").fill("23, Jalan Ampang, Taman KLCC, 55000 KL")
    page.get_by_label("State").select_option("Selangor")
    latitude, longitude = drop_pin(page, x=120, y=90)
    page.get_by_label("Service").select_option(label="On-site troubleshooting support")
    page.get_by_label("High").check()
    page.get_by_label(re.compile(r"^\s*Issue\b")).fill("*Onsite Support")
    page.get_by_label("Describe your issue").fill("Receipt printer does not print.")
    # An impatient double tap sends the form once.
    page.get_by_role("button", name="Send request").dblclick()

    page.wait_for_url(re.compile(r"/status/[0-9a-f-]{36}/$"))
    mark_page(page)
    run_worker()

    expect(page.locator("#case-number")).to_have_text(
        re.compile(r"^STOREHUB\d+-CA"), timeout=20_000
    )
    expect(page.locator("#ticket-id")).to_have_text(re.compile(r"^\d+$"))
    assert still_same_page(page)
    assert Submission.objects.count() == 1
    [request] = sandbox.requests("storehub")
    ticket, appointment = request["body"]["Ticket"], request["body"]["Appointment"]
    assert ticket == {
        "Name": "Ahmad Ibrahim",
        "Phone": "60123456789",
        "Issue": "*Onsite Support",
        "Priority": 1,
        "IsReceiveSms": True,
        "Email": "ahmad_ibrahim@gmail.com",
        "Remark": "Receipt printer does not print.",
        "StoreName": "KL Branch",
        "DealerReseller": "Alex",
    }
    assert {key: appointment[key] for key in ("Address", "State", "ServiceId")} == {
        "Address": "23, Jalan Ampang, Taman KLCC, 55000 KL",
        "State": "Selangor",
        "ServiceId": 18,
    }
    assert appointment["Latitude"] == pytest.approx(latitude, abs=1e-6)
    assert appointment["Longitude"] == pytest.approx(longitude, abs=1e-6)
    expect(page.locator("#case-number")).to_have_text(request["ticket"]["CaseNum"])
    # Nothing is wider than a 360 px phone screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert csp_violations(page) == []


def test_typing_coordinates_moves_the_pin_and_enter_on_the_map_drops_one(browsing):
    page = browsing.page(viewport=DESKTOP)
    page.goto(browsing.server_url + "/storehub/")

    page.get_by_label("Latitude").fill("3.157300")
    page.get_by_label("Longitude").fill("101.712200")
    marker = page.locator(".leaflet-marker-icon")
    expect(marker).to_be_visible()
    box = marker.bounding_box()
    page.get_by_label("Longitude").fill("101.752200")  # about 4 km east
    page.wait_for_function(
        "x => document.querySelector('.leaflet-marker-icon').getBoundingClientRect().x !== x",
        arg=box["x"],
    )

    page.get_by_label("Latitude").fill("")
    page.get_by_label("Longitude").fill("")
    page.get_by_role("region", name="Map").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Latitude")).not_to_have_value("")
    expect(page.locator("#location-status")).to_contain_text("Pin placed")


def test_the_form_works_without_javascript(browsing, sandbox, run_worker):
    page = browsing.page(viewport=PHONE, javascript=False)
    page.goto(browsing.server_url + "/storehub/")

    expect(page.locator("#location-map")).to_be_hidden()  # no script, no map: fields only
    fill_storehub_minimum(page)
    page.get_by_role("button", name="Send request").click()

    page.wait_for_url(re.compile(r"/status/[0-9a-f-]{36}/$"))
    submission = Submission.objects.get()
    assert submission.phone == "60198765432"
    assert str(submission.latitude) == "3.147800"
    run_worker()
    # Without JavaScript the page refreshes itself (<noscript> meta refresh).
    expect(page.locator("#case-number")).to_have_text(re.compile(r"^STOREHUB"), timeout=20_000)


def test_sending_disables_the_button_and_shows_progress(browsing):
    page = browsing.page(viewport=PHONE)
    page.goto(browsing.server_url + "/storehub/")
    fill_storehub_minimum(page)
    # Hold the send on the wire, to look at the page while it is on its way.
    held = []
    page.route(
        re.compile(r"/storehub/$"),
        lambda route: held.append(route) if route.request.method == "POST" else route.fallback(),
    )

    page.get_by_role("button", name="Send request").click()
    for _ in range(400):  # the route's handler runs only while Playwright waits
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the send never left the page"

    sending = page.get_by_role("button", name="Sending…")
    expect(sending).to_be_disabled()
    expect(page.get_by_role("status")).to_contain_text("Sending your request")
    expect(page.locator("form[data-submit-once]")).to_have_attribute("aria-busy", "true")
    assert not Submission.objects.exists()
    for route in held:
        route.abort()


def test_use_my_location_and_dragging_the_pin_fill_the_coordinates(browsing):
    page = browsing.page(viewport=PHONE)
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": -6.2, "longitude": 106.816666})
    page.goto(browsing.server_url + "/onecloud/")

    page.get_by_role("button", name="Use my location").click()

    expect(page.get_by_label("Latitude")).to_have_value("-6.200000")
    expect(page.get_by_label("Longitude")).to_have_value("106.816666")
    expect(page.locator("#location-status")).to_contain_text("The pin is on your location")

    marker = page.locator(".leaflet-marker-icon").bounding_box()
    start_x, start_y = marker["x"] + marker["width"] / 2, marker["y"] + marker["height"] - 4
    page.mouse.move(start_x, start_y)
    page.mouse.down()
    page.mouse.move(start_x + 40, start_y + 30, steps=8)
    page.mouse.up()

    # Dragged east and south: the longitude grows, the latitude falls.
    expect(page.get_by_label("Longitude")).not_to_have_value("106.816666")
    assert float(page.get_by_label("Longitude").input_value()) > 106.816666
    assert float(page.get_by_label("Latitude").input_value()) < -6.2


def test_the_map_help_fits_how_the_form_is_used(browsing):
    page = browsing.page(viewport=PHONE)
    page.goto(browsing.server_url + "/onecloud/")
    expect(page.locator(".leaflet-container")).to_be_visible()
    expect(page.locator("#location-help")).to_contain_text("Tap or click the map")
    # The map's credits are not Tab stops between two fields.
    credits = page.locator(".leaflet-control-attribution a")
    assert credits.count() > 0
    assert all(link.get_attribute("tabindex") == "-1" for link in credits.all())

    plain = browsing.page(viewport=PHONE, javascript=False)
    plain.goto(browsing.server_url + "/onecloud/")
    expect(plain.locator("#location-map")).to_be_hidden()
    expect(plain.locator("#location-help")).to_have_text(
        "Type the latitude and longitude of the place (a map app on your phone shows them)."
    )


def test_free_text_shows_its_limit_and_says_when_a_paste_was_cut(browsing):
    page = browsing.page(viewport=PHONE)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(browsing.server_url + "/storehub/")
    remark = page.get_by_label("Describe your issue")
    counter = page.locator("#id_remark_count")
    expect(counter).to_have_text("0 of 1000 characters")

    remark.fill("Printer jams")
    expect(counter).to_have_text("12 of 1000 characters")

    remark.fill("")
    page.evaluate("text => navigator.clipboard.writeText(text)", "x" * 1760)
    remark.focus()
    page.keyboard.press("ControlOrMeta+V")
    expect(remark).to_have_value("x" * 1000)
    expect(counter).to_contain_text("1000 of 1000 characters")
    expect(counter).to_contain_text("only the first 1000 characters were kept")


def test_a_file_over_the_limit_is_refused_before_it_is_sent(browsing, tmp_path):
    big = tmp_path / "price list.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * int(12.8 * 1024 * 1024))
    page = browsing.page(viewport=PHONE)
    page.goto(browsing.server_url + "/onecloud/")

    page.get_by_label("Document").set_input_files(big)

    expect(page.locator("#id_file_preview")).to_contain_text(
        "price list.pdf is 12.8 MB; the limit is 10 MB. Please choose a smaller file."
    )
    assert page.get_by_label("Document").evaluate("input => input.files.length") == 0

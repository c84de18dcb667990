"""The customer's pages: landing, the two forms, the status page and its JSON."""

import re
import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from tests.support.factories import CUSTOMER_DATA, enable_only, form_post
from tickets.customer.intake import submission_create
from tickets.customer.status_text import CUSTOMER_STATUS_TEXT
from tickets.models import Status, Submission

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_rate_limit():
    cache.clear()
    yield
    cache.clear()


def stored(provider: str, **fields) -> Submission:
    submission = submission_create(provider=provider, data=CUSTOMER_DATA[provider]())
    if fields:
        Submission.objects.filter(pk=submission.pk).update(**fields)
        submission.refresh_from_db()
    return submission


# --- landing ------------------------------------------------------------------------------
def test_the_landing_page_offers_each_enabled_service_with_what_it_is_for(client):
    html = client.get("/").content.decode()

    assert 'href="/onecloud/"' in html and "OneCloud support" in html
    assert 'href="/storehub/"' in html and "StoreHub on-site service" in html
    assert "Book a technician" in html
    assert "Questions, requests, complaints" in html


def test_with_one_provider_enabled_the_landing_page_goes_straight_to_its_form(client, settings):
    enable_only(settings, "storehub")

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/storehub/"
    assert "All services" not in client.get("/storehub/").content.decode()


def test_each_form_has_its_own_address(client):
    assert reverse("tickets:form", args=["onecloud"]) == "/onecloud/"
    assert reverse("tickets:form", args=["storehub"]) == "/storehub/"
    assert client.get("/onecloud/").status_code == 200
    assert client.get("/storehub/").status_code == 200
    assert client.get("/unknown/").status_code == 404


# --- every page ---------------------------------------------------------------------------
def customer_pages(client) -> dict[str, str]:
    submission = stored("storehub")
    pages = {
        "landing": "/",
        "onecloud": "/onecloud/",
        "storehub": "/storehub/",
        "status": reverse("tickets:status", args=[submission.public_id]),
    }
    html = {name: client.get(path).content.decode() for name, path in pages.items()}
    html["storehub-errors"] = client.post("/storehub/", {"name": "x"}).content.decode()
    return html


def test_no_page_has_inline_script_or_style_for_the_content_security_policy(client):
    for name, html in customer_pages(client).items():
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, (name, tag)
        assert "<style" not in html, name
        assert not re.search(r"\sstyle=", html), name
        assert not re.search(r"\son[a-z]+=", html), name


def test_pages_use_only_vendored_assets_and_no_bootstrap_javascript(client):
    for name, html in customer_pages(client).items():
        for url in re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html):
            assert url.startswith("/static/"), (name, url)
        assert "bootstrap.bundle" not in html, name
        assert '<html lang="en">' in html, name
        assert 'name="viewport" content="width=device-width, initial-scale=1"' in html


def test_forms_have_autocomplete_hints_for_personal_details(client):
    onecloud = client.get("/onecloud/").content.decode()
    storehub = client.get("/storehub/").content.decode()

    assert re.search(
        r'name="name"[^>]*autocomplete="name"|autocomplete="name"[^>]*name="name"', onecloud
    )
    for html, field, hint in [
        (onecloud, "email", "email"),
        (storehub, "name", "name"),
        (storehub, "email", "email"),
        (storehub, "phone", "tel"),
        (storehub, "address", "street-address"),
    ]:
        tag = re.search(rf'<(input|textarea)[^>]*name="{field}"[^>]*>', html).group(0)
        assert f'autocomplete="{hint}"' in tag, (field, tag)


@pytest.mark.parametrize(
    ("provider", "latitude", "longitude"),
    [("storehub", "3.139", "101.6869"), ("onecloud", "-6.2", "106.8166")],
)
def test_each_form_s_map_opens_where_its_customers_are(client, provider, latitude, longitude):
    html = client.get(f"/{provider}/").content.decode()

    map_tag = re.search(r'<div id="location-map"[^>]*>', html, re.S).group(0)
    assert f'data-latitude="{latitude}"' in map_tag
    assert f'data-longitude="{longitude}"' in map_tag


def test_the_map_is_configured_from_settings_through_data_attributes(client, settings):
    settings.MAP_TILE_URL = "https://tiles.example.my/{z}/{x}/{y}.png"
    settings.MAP_TILE_ATTRIBUTION = "© Example Maps"
    settings.MAP_DEFAULT_ZOOM = 9
    settings.TICKET_PROVIDERS = {
        **settings.TICKET_PROVIDERS,
        "storehub": {
            **settings.TICKET_PROVIDERS["storehub"],
            "OPTIONS": {
                **settings.TICKET_PROVIDERS["storehub"]["OPTIONS"],
                "map_lat": -6.2,
                "map_lng": 106.816666,
            },
        },
    }

    html = client.get("/storehub/").content.decode()

    map_tag = re.search(r'<div id="location-map"[^>]*>', html, re.S).group(0)
    assert 'data-tile-url="https://tiles.example.my/{z}/{x}/{y}.png"' in map_tag
    assert 'data-attribution="© Example Maps"' in map_tag
    assert 'data-latitude="-6.2"' in map_tag and 'data-longitude="106.816666"' in map_tag
    assert 'data-zoom="9"' in map_tag
    assert 'data-icon-url="/static/vendor/leaflet/images/marker-icon.png"' in map_tag
    # Hidden until the script has drawn it, so a page without JavaScript shows no empty box.
    assert " hidden" in map_tag
    # The coordinate fields themselves are plain, visible inputs.
    assert re.search(r'<input type="number" name="latitude"[^>]*step="any"', html)


def test_the_submit_button_says_what_it_does_and_how_it_shows_progress(client):
    html = client.get("/onecloud/").content.decode()

    assert re.search(r'<button[^>]*data-sending-text="Sending…"[^>]*type="submit"', html)
    assert 'data-submit-once="true"' in html
    assert "/static/tickets/request_form.js" in html


# --- status page --------------------------------------------------------------------------
def test_the_status_page_shows_the_reference_and_what_happens_next_at_once(client):
    submission = stored("onecloud")

    html = client.get(reverse("tickets:status", args=[submission.public_id])).content.decode()

    assert submission.reference in html
    assert "OneCloud support" in html
    assert "The ticket number appears on this page as soon as" in html
    assert re.search(r'<dl id="ticket-numbers"[^>]*hidden', html)
    assert '<meta http-equiv="refresh"' in html  # inside <noscript>, for pages without JS


def test_once_sent_the_storehub_case_number_and_ticket_id_are_shown(client):
    submission = stored(
        "storehub", status=Status.SENT, ticket_id="1000", case_number="STOREHUB1000-CA1B2C3D"
    )

    response = client.get(reverse("tickets:status", args=[submission.public_id]))
    html = response.content.decode()

    assert "STOREHUB1000-CA1B2C3D" in html and ">1000<" in html
    assert "Case number" in html and "Ticket ID" in html
    assert "will contact you by phone" in html
    assert '<meta http-equiv="refresh"' not in html  # final: nothing left to wait for


def test_the_status_json_carries_what_the_page_shows(client):
    submission = stored("onecloud", status=Status.SENT, ticket_id="515091")

    state = client.get(reverse("tickets:status-json", args=[submission.public_id])).json()

    assert state == {
        "reference": submission.reference,
        "status": "sent",
        "headline": "Ticket created",
        "explanation": CUSTOMER_STATUS_TEXT[Status.SENT][1],
        "next_step": "OneCloud's support team will reply to the e-mail address you gave.",
        "contact": "",
        "ticket_id": "515091",
        "case_number": "",
        "final": True,
        "poll_seconds": 5,
        "poll_in_ms": state["poll_in_ms"],
    }


@pytest.mark.parametrize(
    ("age", "next_ask_ms"),
    [(0.1, 200), (0.5, 100), (1.0, 200), (2.0, 400), (3.0, 1200), (4.3, 5000), (600, 5000)],
)
def test_the_page_asks_by_the_request_s_age_soon_while_it_is_fresh(client, age, next_ask_ms):
    # A provider that answers at once gives the number a fraction of a second after storing:
    # the page asks then, whenever it arrived (late on a phone, early on a desk).
    submission = stored("storehub", status=Status.QUEUED)
    Submission.objects.filter(pk=submission.pk).update(
        created_at=timezone.now() - timedelta(seconds=age)
    )

    state = client.get(reverse("tickets:status-json", args=[submission.public_id])).json()
    html = client.get(reverse("tickets:status", args=[submission.public_id])).content.decode()

    # Allow for the milliseconds the request itself took.
    assert next_ask_ms - 150 <= state["poll_in_ms"] <= next_ask_ms
    page_ask = int(re.search(r'data-poll-in-ms="(\d+)"', html).group(1))
    assert next_ask_ms - 150 <= page_ask <= next_ask_ms


@pytest.mark.parametrize("status", [Status.REJECTED, Status.FAILED, Status.HELD])
def test_a_request_waiting_for_staff_is_still_watched_but_slowly(client, status):
    # Staff may correct and resend it: the customer's open page must pick up the ticket number.
    submission = stored("storehub", status=status)

    state = client.get(reverse("tickets:status-json", args=[submission.public_id])).json()
    html = client.get(reverse("tickets:status", args=[submission.public_id])).content.decode()

    assert state["final"] is False
    assert state["poll_seconds"] == 60
    assert state["poll_in_ms"] == 60_000
    assert '<meta http-equiv="refresh" content="60">' in html
    assert 'data-final="false"' in html


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "To reach us: "),
        ("ms", "Untuk menghubungi kami: "),
        ("id", "Untuk menghubungi kami: "),
    ],
)
@pytest.mark.parametrize("status", [Status.CANCELLED, Status.FAILED])
def test_a_page_that_asks_to_contact_us_says_how(client, settings, status, language, words):
    settings.OPERATOR_CONTACT = "support@kedai.example.my"
    submission = stored("storehub", status=status)

    html = client.get(
        reverse("tickets:status", args=[submission.public_id]), HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    state = client.get(reverse("tickets:status-json", args=[submission.public_id])).json()

    assert f'id="status-contact">{words}support@kedai.example.my</p>' in html
    assert state["contact"] == "To reach us: support@kedai.example.my"


def test_a_page_that_does_not_ask_gives_no_contact_line(client, settings):
    settings.OPERATOR_CONTACT = "support@kedai.example.my"
    submission = stored("storehub", status=Status.SENT, ticket_id="1000")

    html = client.get(reverse("tickets:status", args=[submission.public_id])).content.decode()

    assert 'id="status-contact" hidden>' in html


def test_a_cancelled_request_is_no_longer_watched(client):
    submission = stored("storehub", status=Status.CANCELLED)

    html = client.get(reverse("tickets:status", args=[submission.public_id])).content.decode()

    assert '<meta http-equiv="refresh"' not in html
    assert 'data-final="true"' in html


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (Status.RETRYING, "we will keep trying automatically"),
        (Status.HELD, "Our staff have been alerted"),
        (Status.FAILED, "It is safe with us and our staff will follow it up"),
        (Status.REJECTED, "Our staff will correct it"),
    ],
)
def test_waiting_and_failed_states_are_explained_in_plain_words(client, settings, status, words):
    settings.STAFF_ALERT_EMAILS = ["support@example.my"]
    submission = stored("storehub", status=status)

    html = client.get(reverse("tickets:status", args=[submission.public_id])).content.decode()

    assert words in html


def test_a_held_request_says_staff_know_only_when_someone_is_alerted(client, settings):
    submission = stored("storehub", status=Status.HELD)
    page = reverse("tickets:status", args=[submission.public_id])

    settings.STAFF_ALERT_EMAILS = ["support@example.my"]
    assert "Our staff have been alerted" in client.get(page).content.decode()

    settings.STAFF_ALERT_EMAILS = []
    nobody = client.get(page).content.decode()
    assert "alerted" not in nobody
    assert "It will be sent as soon as it can be." in nobody


def test_every_status_has_customer_words():
    assert set(CUSTOMER_STATUS_TEXT) == set(Status)


def test_the_status_page_is_reached_only_through_its_unguessable_link(client):
    submission = stored("storehub")

    assert client.get(f"/status/{uuid.uuid4()}/").status_code == 404
    assert client.get(f"/status/{submission.reference}/").status_code == 404
    assert client.get(f"/status/{submission.pk}/").status_code == 404
    assert client.get(f"/status/{uuid.uuid4()}.json").status_code == 404


def test_the_status_page_is_never_cached_or_indexed(client):
    submission = stored("storehub")

    response = client.get(reverse("tickets:status", args=[submission.public_id]))

    assert "no-store" in response["Cache-Control"]
    assert '<meta name="robots" content="noindex">' in response.content.decode()


def test_form_pages_are_fetched_anew_so_the_back_button_brings_a_fresh_token(client):
    first, second = client.get("/storehub/"), client.get("/storehub/")

    assert "no-store" in first["Cache-Control"]
    tokens = [
        re.search(r'name="form_token" value="([^"]+)"', page.content.decode())[1]
        for page in (first, second)
    ]
    assert tokens[0] != tokens[1]
    # And no browser may put an old token back into the page it fetched anew.
    [token_input] = re.findall(r'<input[^>]*name="form_token"[^>]*>', first.content.decode())
    assert 'autocomplete="off"' in token_input


def test_the_form_page_rendered_once_still_gives_each_visitor_their_own_tokens(client, settings):
    """The empty form is rendered once per language; the tokens in it are each visitor's."""
    pages = [client.get("/onecloud/").content.decode() for _ in range(3)]
    pages.append(client.get("/onecloud/", HTTP_ACCEPT_LANGUAGE="ms").content.decode())

    form_tokens = {re.search(r'name="form_token" value="([^"]+)"', p)[1] for p in pages}
    assert len(form_tokens) == 4
    csrf = [re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', p) for p in pages]
    assert all(len(tokens) == 2 and tokens[0] == tokens[1] for tokens in csrf)  # form, switcher
    assert client.cookies["csrftoken"].value
    assert "slot" not in "".join(pages)
    assert '<html lang="ms">' in pages[-1] and '<html lang="en">' in pages[0]
    # And a token from the page is one the form accepts.
    settings.FORM_RATE_LIMIT = 1000
    posted = client.post(
        "/onecloud/",
        form_post(
            "onecloud", form_token=re.search(r'name="form_token" value="([^"]+)"', pages[0])[1]
        ),
    )
    assert posted.status_code == 302


@pytest.mark.parametrize("language", ["en", "ms", "id"])
def test_the_language_switcher_names_each_language_in_itself(client, language):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()

    switcher = re.search(r'<form class="language-switcher".*?</form>', html, re.S).group(0)
    names = re.findall(r'lang="(\w+)"[^>]*>([^<]+)</button>', switcher)
    assert names == [("en", "English"), ("ms", "Bahasa Melayu"), ("id", "Bahasa Indonesia")]


def test_the_status_page_says_when_and_what_was_asked_but_no_contact_details(client):
    submission = stored("storehub")

    html = client.get(reverse("tickets:status", args=[submission.public_id])).content.decode()

    assert re.search(r'<dd id="sent-on">\d{1,2} \w+ 20\d\d, \d\d:\d\d MYT</dd>', html)
    assert f'<dd id="request-summary" class="text-break">{submission.details["issue"]}' in html
    for contact in (submission.email, submission.phone, submission.name):
        assert contact not in html


def test_a_finished_request_does_not_claim_its_page_updates(client):
    waiting = stored("storehub")
    done = stored("onecloud", status=Status.SENT, ticket_id="515090")

    def updates_note(submission):
        html = client.get(reverse("tickets:status", args=[submission.public_id])).content.decode()
        return re.search(r'<span id="status-updates"( hidden)?>', html).group(1)

    assert updates_note(waiting) is None
    assert updates_note(done) == " hidden"


def test_with_a_case_number_the_customer_is_told_which_number_to_quote(client):
    submission = stored(
        "storehub", status=Status.SENT, ticket_id="1000", case_number="STOREHUB1000-CA228430"
    )

    html = client.get(reverse("tickets:status", args=[submission.public_id])).content.decode()

    assert "Quote the case number below if you contact them." in html
    assert "Case number (quote this one)" in html
    assert "Quote the ticket number" not in html
    # One number stands out: the ticket ID is kept out of sight, the reference in small print.
    assert '<div id="ticket-id-row" hidden>' in html
    assert '<p id="reference-line" class="reference-aside">' in html


@pytest.mark.django_db
def test_every_customer_page_describes_the_portal_in_its_language(client):
    for url in ("/", "/storehub/", "/find/", "/privacy/"):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="ms", follow=True).content.decode()
        assert (
            '<meta name="description" content="Hantar permintaan kepada pasukan sokongan' in page
        ), url

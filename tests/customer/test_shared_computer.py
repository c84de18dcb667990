""" "This is a shared or public computer": a choice of the page, never a field sent to a provider;
the status page of a request sent or found with it ticked, in that browser, says so to its
scripts and shows the reference and the state only. (What the browser keeps is proved in
Chromium: tests/e2e/test_shared_computer.py.)"""

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.support.factories import form_post, storehub_data
from tickets.customer.intake import submission_create
from tickets.customer.shared_computer import NOT_KEPT_HEADER
from tickets.models import Submission

# Transactions as in production: the worker runs in one test.
pytestmark = pytest.mark.django_db(transaction=True)

CHOICE = "This is a shared or public computer"
SHARED_PAGE = 'data-shared-computer="true"'


@pytest.fixture(autouse=True)
def no_rate_limit():
    cache.clear()
    yield
    cache.clear()


def status_page(client, submission: Submission) -> str:
    return client.get(reverse("tickets:status", args=[submission.public_id])).content.decode()


@pytest.mark.parametrize("path", ["/storehub/", "/onecloud/", "/find/"])
def test_each_form_and_find_my_request_offer_the_choice_unticked(client, path):
    html = client.get(path).content.decode()

    assert CHOICE in html
    assert 'name="shared_computer"' in html
    box = re.search(r'<input[^>]*id="shared-computer"[^>]*>', html).group(0)
    assert "checked" not in box


def test_the_choice_sits_outside_the_provider_s_form_and_posts_with_it(client):
    html = client.get("/storehub/").content.decode()

    choice = html.index('name="shared_computer"')
    assert 'form="request-form"' in html[html.rindex("<input", 0, choice) : choice + 200]
    assert choice < html.index('id="request-form"')


def test_a_request_sent_with_the_choice_keeps_it_out_of_what_is_stored(client):
    client.post("/storehub/", form_post("storehub", shared_computer="1"))

    submission = Submission.objects.get()
    assert "shared_computer" not in submission.details
    html = status_page(client, submission)
    assert SHARED_PAGE in html
    # The reference and the state; not what the request is about, nor a hint to bookmark it.
    assert submission.reference in html
    assert 'id="request-summary"' not in html
    assert "Write down your reference" in html
    assert "bookmark" not in html


def test_another_browser_opening_the_same_link_sees_the_usual_page(client):
    client.post("/storehub/", form_post("storehub", shared_computer="1"))
    submission = Submission.objects.get()

    html = status_page(Client(), submission)

    assert 'data-shared-computer="false"' in html
    assert 'id="request-summary"' in html


def test_without_the_choice_the_status_page_is_the_usual_one(client):
    client.post("/storehub/", form_post("storehub"))

    html = status_page(client, Submission.objects.get())

    assert 'data-shared-computer="false"' in html
    assert 'data-found-by-code="false"' in html
    assert 'id="request-summary"' in html


def test_the_service_worker_is_told_to_keep_no_copy_of_a_shared_status_page(client):
    client.post("/storehub/", form_post("storehub", shared_computer="1"))
    shared = Submission.objects.get()
    client.post("/storehub/", form_post("storehub", name="Aminah"))
    usual = Submission.objects.exclude(pk=shared.pk).get()

    def marked(submission):
        response = client.get(reverse("tickets:status", args=[submission.public_id]))
        return response.headers.get(NOT_KEPT_HEADER)

    assert marked(shared) == "shared-computer"
    assert marked(usual) is None


def test_a_form_sent_back_with_errors_keeps_the_choice_ticked(client):
    html = client.post(
        "/storehub/", form_post("storehub", phone="12345", shared_computer="1")
    ).content.decode()

    assert "Please check the form" in html
    assert Submission.objects.count() == 0
    assert 'id="shared-computer" form="request-form" checked' in html


def test_a_request_found_with_the_choice_ticked_is_shown_as_on_a_shared_computer(
    client, whatsapp, run_worker
):
    submission = submission_create(
        provider="storehub", data=storehub_data(whatsapp_updates=True), language="en"
    )
    client.post(
        "/find/",
        {"reference": submission.reference, "phone": "0123456789", "shared_computer": "1"},
    )
    run_worker()
    (message,) = [m for m in whatsapp.sent if m["template"]["name"] == "portal_access_code"]
    code = message["template"]["components"][0]["parameters"][0]["text"]

    opened = client.post("/find/code/", {"code": code})

    html = client.get(opened["Location"]).content.decode()
    assert SHARED_PAGE in html
    assert 'data-found-by-code="true"' in html
    assert 'id="request-summary"' not in html


def test_how_long_the_list_of_requests_lives_reaches_the_pages(client, settings):
    settings.MY_REQUESTS_KEEP_DAYS = 7

    for path in ("/", "/storehub/", "/find/"):
        assert 'data-my-requests-keep-days="7"' in client.get(path).content.decode()
    privacy = client.get("/privacy/").content.decode()
    assert "a list of the requests you sent for 7 days" in privacy
    assert "This is a shared or public computer" in privacy

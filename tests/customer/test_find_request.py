"""The "Find my request" pages: the same answer whether or not anything matched, the code that
opens the status page, clear messages for wrong input, and a limit per connection."""

import re

import pytest
from django.urls import reverse

from tests.support.factories import storehub_data
from tickets.customer.intake import submission_create
from tickets.models import AccessCode

pytestmark = pytest.mark.django_db


def opted_in_request():
    return submission_create(
        provider="storehub", data=storehub_data(whatsapp_updates=True), language="en"
    )


@pytest.mark.parametrize(
    ("language", "title"),
    [("en", "Find my request"), ("ms", "Cari permintaan saya"), ("id", "Cari permintaan saya")],
)
def test_the_landing_page_and_the_forms_lead_to_it(client, language, title):
    for path in ("/", "/storehub/"):
        html = client.get(path, HTTP_ACCEPT_LANGUAGE=language, follow=True).content.decode()
        assert 'href="/find/"' in html

    page = client.get("/find/", HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert f'<h1 class="h3">{title}</h1>' in page


@pytest.mark.parametrize("matches", [True, False])
def test_the_answer_is_the_same_whether_or_not_anything_matched(client, whatsapp, matches):
    submission = opted_in_request()
    phone = "012-345 6789" if matches else "019-999 9999"

    sent = client.post("/find/", {"reference": submission.reference, "phone": phone})
    page = client.get(sent["Location"]).content.decode()

    assert sent.status_code == 302 and sent["Location"] == "/find/code/"
    assert f"If {submission.reference} and the phone number match a request" in page
    assert AccessCode.objects.exists() == matches


def test_the_right_code_opens_the_status_page(client, whatsapp):
    submission = opted_in_request()
    client.post("/find/", {"reference": submission.reference.lower(), "phone": "0123456789"})
    code = AccessCode.objects.get().code_to_send

    opened = client.post("/find/code/", {"code": code})

    assert opened.status_code == 302
    assert opened["Location"] == reverse("tickets:status", args=[submission.public_id])
    # Once: the page asks for a reference again.
    assert client.get("/find/code/")["Location"] == "/find/"


def test_a_wrong_code_says_so_and_keeps_the_page(client, whatsapp):
    submission = opted_in_request()
    client.post("/find/", {"reference": submission.reference, "phone": "0123456789"})

    code = AccessCode.objects.get().code_to_send
    wrong = "000000" if code != "000000" else "111111"

    answer = client.post("/find/code/", {"code": wrong})

    assert answer.status_code == 200
    assert "That code is not right, or it has expired." in answer.content.decode()


def test_the_code_page_needs_a_reference_first(client):
    assert client.get("/find/code/")["Location"] == "/find/"


@pytest.mark.parametrize(
    ("post", "message"),
    [
        ({"reference": "7EB8R", "phone": "0123456789"}, "A reference looks like REQ-7EB8RK."),
        ({"reference": "", "phone": ""}, "This field is required."),
    ],
)
def test_bad_input_gets_a_clear_message(client, post, message):
    answer = client.post("/find/", post)

    assert answer.status_code == 200
    assert message in answer.content.decode()


def test_a_connection_asking_too_often_is_told_to_wait(client, whatsapp, settings):
    settings.FORM_RATE_LIMIT = 2
    post = {"reference": "REQ-ZZZZZZ", "phone": "0123456789"}

    answers = [client.post("/find/", post) for _ in range(3)]

    assert [a.status_code for a in answers] == [302, 302, 429]
    assert re.search(r"Please try again in \d+ minute", answers[-1].content.decode())

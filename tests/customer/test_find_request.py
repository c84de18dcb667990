"""The "Find my request" pages: the same answer, and the same work, whether or not anything
matched; the code that opens the status page in the browser that asked for it, and nowhere else;
clear messages for wrong input, and a limit per connection."""

import html
import json
import re

import altcha
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from tests.support.factories import storehub_data
from tickets.customer.access import access_code_send_task
from tickets.customer.intake import submission_create
from tickets.models import AccessCode

# Transactions as in production: the worker runs in some tests.
pytestmark = pytest.mark.django_db(transaction=True)


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


def code_sent(whatsapp) -> str:
    (message,) = [m for m in whatsapp.sent if m["template"]["name"] == "portal_access_code"]
    return message["template"]["components"][0]["parameters"][0]["text"]


@pytest.mark.parametrize("matches", [True, False])
def test_the_answer_is_the_same_whether_or_not_anything_matched(
    client, whatsapp, run_worker, matches
):
    submission = opted_in_request()
    phone = "012-345 6789" if matches else "019-999 9999"

    sent = client.post("/find/", {"reference": submission.reference, "phone": phone})
    page = client.get(sent["Location"]).content.decode()

    assert sent.status_code == 302 and sent["Location"] == "/find/code/"
    assert f"If {submission.reference} and the phone number match a request" in page
    assert "Enter it here, in this browser" in page
    run_worker()
    assert AccessCode.objects.exists() == matches


def statements(queries: CaptureQueriesContext) -> list[str]:
    """The statements run, without the values in them (keys, digests, times, savepoints)."""
    return [re.sub(r"'[^']*'|\b\d+\b|\"s\d+_x\d+\"", "?", query["sql"]) for query in queries]


def test_matching_and_not_matching_take_the_same_work(whatsapp):
    """Timing cannot tell them apart: the same queries, and the same one task queued."""
    submission = opted_in_request()
    DBTaskResult.objects.all().delete()  # the request's own forward and receipt

    def work(phone: str) -> tuple[list[str], list[str]]:
        with CaptureQueriesContext(connection) as queries:
            answer = Client().post("/find/", {"reference": submission.reference, "phone": phone})
        assert answer.status_code == 302
        queued = list(DBTaskResult.objects.values_list("task_path", flat=True))
        DBTaskResult.objects.all().delete()
        return statements(queries), queued

    matching, not_matching = work("012-345 6789"), work("019-999 9999")

    assert matching == not_matching
    assert matching[1] == [access_code_send_task.module_path]
    assert not AccessCode.objects.exists()  # the worker decides, later


def test_a_code_typed_without_one_asked_tells_nothing_of_the_reference(whatsapp):
    """A browser with no code asked: the same work whether or not its reference exists."""
    submission = opted_in_request()

    def work(reference: str) -> list[str]:
        browser = Client()
        browser.post("/find/", {"reference": reference, "phone": "0199999999"})
        with CaptureQueriesContext(connection) as queries:
            answer = browser.post("/find/code/", {"code": "123456"})
        assert answer.status_code == 200
        return statements(queries)

    assert work(submission.reference) == work("REQ-ZZZZZZ")


def test_the_right_code_opens_the_status_page(client, whatsapp, run_worker):
    submission = opted_in_request()
    client.post("/find/", {"reference": submission.reference.lower(), "phone": "0123456789"})
    run_worker()

    opened = client.post("/find/code/", {"code": code_sent(whatsapp)})

    assert opened.status_code == 302
    assert opened["Location"] == reverse("tickets:status", args=[submission.public_id])
    # Found again: the page does not claim its address is the only way to it.
    status_page = client.get(opened["Location"]).content.decode()
    assert "only way" not in status_page and "find it again" not in status_page
    # Once: the page asks for a reference again.
    assert client.get("/find/code/")["Location"] == "/find/"


def test_the_right_code_in_another_browser_opens_nothing_and_costs_the_customer_nothing(
    client, whatsapp, run_worker
):
    submission = opted_in_request()
    client.post("/find/", {"reference": submission.reference, "phone": "0123456789"})
    run_worker()
    code = code_sent(whatsapp)
    # Someone else who knows the reference, guessing, then holding the right code.
    stranger = Client()
    stranger.post("/find/", {"reference": submission.reference, "phone": "0199999999"})
    for guess in range(11):
        stranger.post("/find/code/", {"code": f"{guess:06d}"})

    answer = stranger.post("/find/code/", {"code": code})

    assert answer.status_code == 200
    assert "That code is not right, or it has expired." in answer.content.decode()
    opened = client.post("/find/code/", {"code": code})
    assert opened["Location"] == reverse("tickets:status", args=[submission.public_id])


def test_a_wrong_code_says_so_and_keeps_the_page(client, whatsapp, run_worker):
    submission = opted_in_request()
    client.post("/find/", {"reference": submission.reference, "phone": "0123456789"})
    run_worker()

    code = code_sent(whatsapp)
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


def test_during_unusual_volume_no_code_goes_out_without_a_proof_of_work(client, whatsapp, settings):
    submission = opted_in_request()
    settings.UNUSUAL_VOLUME_PER_HOUR = 1
    DBTaskResult.objects.all().delete()

    page = client.get("/find/").content.decode()
    answer = client.post("/find/", {"reference": submission.reference, "phone": "0123456789"})

    assert 'id="proof-of-work"' in page
    assert answer.status_code == 200
    assert "No code was sent" in answer.content.decode()
    assert not DBTaskResult.objects.filter(task_path=access_code_send_task.module_path).exists()


def test_during_unusual_volume_a_solved_challenge_sends_the_code(client, whatsapp, settings):
    submission = opted_in_request()
    settings.UNUSUAL_VOLUME_PER_HOUR = 1
    page = client.get("/find/").content.decode()
    found = re.search(r'data-challenge="([^"]+)"', page)
    challenge = altcha.Challenge.from_dict(json.loads(html.unescape(found.group(1))))
    proof = altcha.Payload(challenge, altcha.solve_challenge(challenge)).to_base64()

    answer = client.post(
        "/find/", {"reference": submission.reference, "phone": "0123456789", "altcha": proof}
    )

    assert answer.status_code == 302 and answer["Location"] == "/find/code/"

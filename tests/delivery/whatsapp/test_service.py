"""WhatsApp updates (``tickets.delivery.whatsapp.service``): queued with the change they tell of,
sent through the Cloud API (the sandbox's fake), retried, held or given up by Meta's error code."""

import json

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import translation

from tests.support.factories import storehub_data
from tickets.customer.intake import submission_create
from tickets.delivery.whatsapp.service import whatsapp_send
from tickets.models import Status, WhatsAppMessage, WhatsAppOptOut
from tickets.providers import get_provider

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Whether a recipient who did not ask gets them is tests/delivery/test_recipients.py's.
    pytest.mark.usefixtures("confirmed_customers"),
]


def create(*, whatsapp_updates=True, language="en", **overrides):
    data = storehub_data(whatsapp_updates=whatsapp_updates, **overrides)
    return submission_create(provider="storehub", data=data, language=language)


@pytest.fixture
def receipt_only(whatsapp, sandbox, settings):
    """A request whose receipt is queued and whose forward does not end (no ticket-number
    message to take the fake's scripted outcomes): the receipt, not yet sent."""
    from tickets.delivery.forward import submission_forward

    settings.WHATSAPP["TEMPLATES"] = {**settings.WHATSAPP["TEMPLATES"], "ticket_number": ""}

    def make() -> WhatsAppMessage:
        sandbox.script("storehub", "hang:0.1")
        submission = create()
        submission_forward(submission_id=submission.pk)
        return submission.whatsapp_messages.get(kind="receipt")

    return make


def due_now(message: WhatsAppMessage) -> None:
    WhatsAppMessage.objects.filter(pk=message.pk).update(next_attempt_at=message.created_at)


def sent_templates(whatsapp) -> list[tuple[str, str, str, list[str]]]:
    return [
        (
            message["to"],
            message["template"]["name"],
            message["template"]["language"]["code"],
            [p["text"] for p in message["template"]["components"][0]["parameters"]],
        )
        for message in whatsapp.sent
    ]


@pytest.mark.parametrize("language", ["en", "ms", "id"])
def test_an_opted_in_customer_gets_the_receipt_and_the_ticket_number(
    whatsapp, run_worker, settings, language
):
    submission = create(language=language)
    run_worker()

    submission.refresh_from_db()
    assert submission.status == Status.SENT
    assert submission.whatsapp_opt_in_at is not None
    assert submission.whatsapp_opt_in == f"storehub:{language}"
    status_url = f"{settings.PORTAL_URL}/status/{submission.public_id}/"
    with translation.override(language):
        service = str(get_provider("storehub").title)
    assert language == "en" or service != "StoreHub on-site service"
    assert sent_templates(whatsapp) == [
        (
            "60123456789",
            "portal_receipt",
            language,
            [submission.reference, service, status_url],
        ),
        (
            "60123456789",
            "portal_ticket_number",
            language,
            [submission.reference, submission.case_number, status_url],
        ),
    ]
    messages = list(submission.whatsapp_messages.all())
    assert [m.state for m in messages] == ["sent", "sent"]
    assert all(m.wamid.startswith("wamid.") for m in messages)


def test_nobody_who_did_not_tick_the_box_is_written_to(whatsapp, run_worker):
    submission = create(whatsapp_updates=False)
    run_worker()

    assert submission.whatsapp_messages.count() == 0
    assert whatsapp.sent == []


def test_a_number_that_opted_out_since_the_request_gets_nothing_more(whatsapp, run_worker):
    submission = create()
    WhatsAppOptOut.objects.create(phone="60123456789", how="replied STOP")
    run_worker()

    assert submission.whatsapp_messages.count() == 0
    assert whatsapp.sent == []


def test_a_message_queued_before_the_opt_out_is_not_sent(whatsapp, receipt_only):
    receipt = receipt_only()
    WhatsAppOptOut.objects.create(phone="60123456789", how="replied STOP")

    receipt = whatsapp_send(message_id=receipt.pk)

    assert receipt.state == WhatsAppMessage.State.FAILED
    assert "no more WhatsApp messages" in receipt.last_error
    assert whatsapp.sent == []


@pytest.mark.parametrize(
    ("outcome", "state", "code", "retried"),
    [
        ("130429", "queued", 130429, True),  # rate limit
        ("131056", "queued", 131056, True),  # too many to this number
        ("131000", "queued", 131000, True),  # Meta's own trouble
        ("500", "queued", None, True),
        ("drop", "queued", None, True),
        ("131026", "failed", 131026, False),  # not on WhatsApp
        ("132001", "failed", 132001, False),  # no such template
        ("190", "held", 190, True),  # the access token expired
        ("131031", "held", 131031, True),  # the account is locked
    ],
)
def test_each_error_class_decides_what_comes_next(
    sandbox, receipt_only, outcome, state, code, retried
):
    message = receipt_only()
    sandbox.script("whatsapp", outcome)

    message = whatsapp_send(message_id=message.pk)

    assert message.state == state
    assert message.error_code == code
    assert (message.next_attempt_at is not None) == retried
    (call,) = message.calls.all()
    assert call.error_class != "success"
    if state == "held":
        assert message.attempts == 0  # the time held does not use up the budget
        assert message.last_error.startswith("WhatsApp ")


@pytest.mark.parametrize("outcome", ["nul", "nuljson"])
def test_an_answer_holding_a_nul_is_kept_for_staff_and_the_message_tried_again(
    sandbox, receipt_only, outcome
):
    """PostgreSQL's text and jsonb cannot hold a NUL: the answer is kept with it written out."""
    message = receipt_only()
    sandbox.script("whatsapp", outcome)

    message = whatsapp_send(message_id=message.pk)

    assert message.state == "queued" and message.next_attempt_at is not None
    (call,) = message.calls.all()
    assert "\\u0000" in call.response and "\x00" not in call.response


def test_a_retried_message_is_sent_once_meta_answers(sandbox, receipt_only, settings):
    settings.MESSAGE_MAX_ATTEMPTS = 3
    receipt = receipt_only()
    sandbox.script("whatsapp", "130429", "500")

    for _ in range(3):
        due_now(receipt)
        receipt = whatsapp_send(message_id=receipt.pk)

    assert receipt.state == "sent"
    assert [call.error_class for call in receipt.calls.all()] == [
        "rate_limited",
        "transient",
        "success",
    ]


def test_a_message_is_given_up_after_the_last_try(sandbox, receipt_only, settings):
    settings.MESSAGE_MAX_ATTEMPTS = 2
    receipt = receipt_only()
    sandbox.script("whatsapp", "500", "500")

    whatsapp_send(message_id=receipt.pk)
    due_now(receipt)
    receipt = whatsapp_send(message_id=receipt.pk)

    assert receipt.state == "failed"
    assert receipt.next_attempt_at is None


def test_the_access_token_is_never_stored(whatsapp, run_worker, settings):
    submission = create()
    run_worker()

    token = settings.WHATSAPP["ACCESS_TOKEN"]
    calls = [call for m in submission.whatsapp_messages.all() for call in m.calls.all()]
    assert calls
    for call in calls:
        assert token not in json.dumps(call.request) + call.response
        assert call.request["headers"]["Authorization"] == "***"


def test_staff_see_each_message_its_state_and_its_calls(
    whatsapp, sandbox, run_worker, client, settings
):
    sandbox.script("whatsapp", "130429")
    submission = create()
    run_worker()
    staff = User.objects.create_superuser("agent", "agent@example.my", "a-long-password-1")
    client.force_login(staff)

    page = client.get(reverse("admin:tickets_submission_change", args=[submission.pk]))

    section = page.content.decode().split('class="console-timeline"')[1]
    assert "The customer agreed to WhatsApp updates on" in section
    assert "by ticking the box on the StoreHub form, in English." in section
    assert "Receipt with the reference" in section and "Ticket number" in section
    assert "Waiting to be sent" in section  # the receipt, rate-limited, waits for its retry
    assert "Accepted by WhatsApp" in section  # the ticket number went out
    assert "1 call to WhatsApp" in section and "WhatsApp 130429" in section
    assert settings.WHATSAPP["ACCESS_TOKEN"] not in section


def test_why_a_message_was_not_sent_is_told_in_the_staff_s_language(whatsapp, receipt_only, client):
    receipt = receipt_only()
    WhatsAppOptOut.objects.create(phone="60123456789", how="replied STOP")
    whatsapp_send(message_id=receipt.pk)
    staff = User.objects.create_superuser("agent", "agent@example.my", "a-long-password-1")
    client.force_login(staff)

    url = reverse("admin:tickets_submission_change", args=[receipt.submission_id])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="ms").content.decode()

    assert "Tidak dihantar: pelanggan meminta supaya tidak lagi dihantar mesej WhatsApp." in page

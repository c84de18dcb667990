"""Find my request (``tickets.customer.access``): a one-time code to the request's WhatsApp or
e-mail, short-lived, single-use, a few tries; nothing for anyone else."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.support.factories import onecloud_data, storehub_data
from tickets.customer.access import (
    CODES_PER_DAY,
    CODES_PER_HOUR,
    WRONG_TRIES_PER_DAY,
    access_code_check,
    access_code_send,
    normalized_reference,
)
from tickets.customer.intake import submission_create
from tickets.models import AccessCode, OutgoingEmail, WhatsAppMessage

pytestmark = pytest.mark.django_db(transaction=True)


def storehub_request(**overrides):
    return submission_create(provider="storehub", data=storehub_data(**overrides), language="ms")


def the_code(submission) -> str:
    """The code of the latest ask, still in clear: its message has not gone yet."""
    return submission.access_codes.latest("created_at").code_to_send


def test_an_opted_in_request_gets_its_code_on_whatsapp(whatsapp, run_worker):
    submission = storehub_request(whatsapp_updates=True)

    access_code_send(reference=submission.reference.lower(), phone="012-345 6789")
    run_worker()

    sent = [m for m in whatsapp.sent if m["template"]["name"] == "portal_access_code"]
    assert len(sent) == 1
    components = sent[0]["template"]["components"]
    code = components[0]["parameters"][0]["text"]
    assert re.fullmatch(r"\d{6}", code)
    assert components[1]["sub_type"] == "url"  # the copy-code button, as Meta wants it
    assert components[1]["parameters"][0]["text"] == code
    assert sent[0]["template"]["language"]["code"] == "ms"
    # Gone: the code is no longer kept in clear, not in the message, not in its stored call.
    access = submission.access_codes.get()
    message = submission.whatsapp_messages.get(kind="access_code")
    assert access.code_to_send == "" and code not in access.code_hash
    assert message.parameters == []
    assert code not in json.dumps(message.calls.get().request)
    assert access_code_check(reference=submission.reference, code=code) == submission


def test_without_whatsapp_the_code_goes_by_e_mail(whatsapp, smtp_server, run_worker):
    submission = storehub_request()

    access_code_send(reference=submission.reference, phone="+60 12-345 6789")
    run_worker()

    email = submission.emails.get(kind=OutgoingEmail.Kind.ACCESS_CODE)
    assert email.state == "sent"
    (message,) = [m for m in smtp_server.messages if "Kod anda" in m.subject]
    code = re.search(r"^\s+(\d{6})\s*$", message.text, re.M).group(1)
    # Not in the subject, which staff see on the request's page.
    assert submission.reference in message.subject and code not in email.subject
    assert submission.access_codes.get().code_to_send == ""
    assert not submission.whatsapp_messages.filter(kind="access_code").exists()
    assert access_code_check(reference=submission.reference, code=code) == submission


def test_an_indonesian_number_is_read_as_its_own_form_reads_it(whatsapp, run_worker):
    submission = submission_create(
        provider="onecloud",
        data=onecloud_data(phone="6281234567890", whatsapp_updates=True),
        language="id",
    )

    access_code_send(reference=submission.reference, phone="0812-3456-7890")

    assert submission.access_codes.count() == 1


@pytest.mark.parametrize(
    ("reference", "phone"),
    [
        ("REQ-ZZZZZZ", "0123456789"),  # another reference
        ("", "0123456789"),
        ("its own", "0199999999"),  # another number
        ("its own", "not a phone"),
        ("its own", ""),
    ],
)
def test_nothing_is_sent_when_the_details_do_not_match(whatsapp, reference, phone):
    submission = storehub_request(whatsapp_updates=True)
    if reference == "its own":
        reference = submission.reference

    access_code_send(reference=reference, phone=phone)

    assert not AccessCode.objects.exists()
    assert not WhatsAppMessage.objects.filter(kind="access_code").exists()


def test_a_request_with_no_way_to_reach_it_gets_no_code(whatsapp):
    submission = storehub_request(email="")

    access_code_send(reference=submission.reference, phone="0123456789")

    assert not AccessCode.objects.exists()


def test_a_code_works_once(whatsapp):
    submission = storehub_request(whatsapp_updates=True)
    access_code_send(reference=submission.reference, phone="0123456789")
    code = the_code(submission)

    assert access_code_check(reference=submission.reference, code=code) == submission
    assert access_code_check(reference=submission.reference, code=code) is None


def test_a_code_expires(whatsapp):
    submission = storehub_request(whatsapp_updates=True)
    access_code_send(reference=submission.reference, phone="0123456789")
    code = the_code(submission)
    AccessCode.objects.update(expires_at=submission.created_at - timedelta(seconds=1))

    assert access_code_check(reference=submission.reference, code=code) is None
    assert AccessCode.objects.purge_expired(now=timezone.now()) == 1


def test_wrong_codes_are_counted_for_the_request_whichever_code_they_aim_at(whatsapp):
    submission = storehub_request(whatsapp_updates=True)
    for ask in range(3):
        access_code_send(reference=submission.reference, phone="0123456789")
        code = the_code(submission)
        wrong = "000000" if code != "000000" else "111111"
        tries = 4 if ask < 2 else WRONG_TRIES_PER_DAY - 8
        for _ in range(tries):
            assert access_code_check(reference=submission.reference, code=wrong) is None

    # The day's wrong tries are used up: even the right code opens nothing now.
    assert access_code_check(reference=submission.reference, code=code) is None


def test_a_new_code_ends_the_ones_before_it(whatsapp):
    submission = storehub_request(whatsapp_updates=True)
    access_code_send(reference=submission.reference, phone="0123456789")
    first = the_code(submission)
    access_code_send(reference=submission.reference, phone="0123456789")
    second = the_code(submission)

    assert access_code_check(reference=submission.reference, code=first) is None
    assert access_code_check(reference=submission.reference, code=second) == submission


def test_a_request_gets_a_few_codes_an_hour_and_a_day_at_most(whatsapp):
    submission = storehub_request(whatsapp_updates=True)

    for _ in range(5):
        access_code_send(reference=submission.reference, phone="0123456789")
    assert submission.access_codes.count() == CODES_PER_HOUR

    AccessCode.objects.update(created_at=submission.created_at - timedelta(hours=2))
    for _ in range(5):
        access_code_send(reference=submission.reference, phone="0123456789")
    assert submission.access_codes.count() == CODES_PER_DAY


def test_a_code_that_expired_before_its_message_went_is_not_sent(whatsapp, smtp_server, run_worker):
    submission = storehub_request()
    access_code_send(reference=submission.reference, phone="0123456789")
    AccessCode.objects.update(expires_at=submission.created_at)

    run_worker()

    email = submission.emails.get(kind=OutgoingEmail.Kind.ACCESS_CODE)
    assert email.state == "failed" and "expired" in email.last_error
    assert not [m for m in smtp_server.messages if "Kod anda" in m.subject]


@pytest.mark.parametrize(
    ("typed", "reference"),
    [
        ("REQ-7EB8RK", "REQ-7EB8RK"),
        ("req 7eb8rk", "REQ-7EB8RK"),
        ("7eb8rk", "REQ-7EB8RK"),
        ("REQ-7EB8R", ""),
        ("REQ-7EB8RK1", ""),
        ("'; drop", ""),
    ],
)
def test_references_are_read_as_customers_type_them(typed, reference):
    assert normalized_reference(typed) == reference

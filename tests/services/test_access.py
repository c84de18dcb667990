"""Find my request (``tickets.services.access``): a one-time code to the request's WhatsApp or
e-mail, short-lived, single-use, a few tries; nothing for anyone else."""

from datetime import timedelta

import pytest

from tests.factories import onecloud_data, storehub_data
from tickets.models import AccessCode, OutgoingEmail, WhatsAppMessage
from tickets.services.access import (
    MAX_WRONG_TRIES,
    access_code_check,
    access_code_send,
    access_codes_purge,
    normalized_reference,
)
from tickets.services.intake import submission_create

pytestmark = pytest.mark.django_db(transaction=True)


def storehub_request(**overrides):
    return submission_create(provider="storehub", data=storehub_data(**overrides), language="ms")


def the_code(submission) -> str:
    return submission.access_codes.latest("created_at").code


def test_an_opted_in_request_gets_its_code_on_whatsapp(whatsapp, run_worker):
    submission = storehub_request(whatsapp_updates=True)

    access_code_send(reference=submission.reference.lower(), phone="012-345 6789")
    run_worker()

    code = the_code(submission)
    sent = [m for m in whatsapp.sent if m["template"]["name"] == "portal_access_code"]
    assert len(sent) == 1
    components = sent[0]["template"]["components"]
    assert components[0]["parameters"] == [{"type": "text", "text": code}]
    assert components[1]["sub_type"] == "url"  # the copy-code button, as Meta wants it
    assert sent[0]["template"]["language"]["code"] == "ms"
    assert access_code_check(reference=submission.reference, code=code) == submission


def test_without_whatsapp_the_code_goes_by_e_mail(whatsapp, smtp_server, run_worker):
    submission = storehub_request()

    access_code_send(reference=submission.reference, phone="+60 12-345 6789")
    run_worker()

    email = submission.emails.get(kind=OutgoingEmail.Kind.ACCESS_CODE)
    assert email.state == "sent"
    code = the_code(submission)
    (message,) = [m for m in smtp_server.messages if code in m.subject]
    assert submission.reference in message.subject
    assert not submission.whatsapp_messages.filter(kind="access_code").exists()


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
    assert access_codes_purge() == 1


def test_a_code_is_refused_after_too_many_wrong_tries(whatsapp):
    submission = storehub_request(whatsapp_updates=True)
    access_code_send(reference=submission.reference, phone="0123456789")
    code = the_code(submission)
    wrong = "000000" if code != "000000" else "111111"

    for _ in range(MAX_WRONG_TRIES):
        assert access_code_check(reference=submission.reference, code=wrong) is None

    assert access_code_check(reference=submission.reference, code=code) is None


def test_a_request_gets_a_few_codes_an_hour_at_most(whatsapp):
    submission = storehub_request(whatsapp_updates=True)

    for _ in range(5):
        access_code_send(reference=submission.reference, phone="0123456789")

    assert submission.access_codes.count() == 3


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

"""Find my request (``tickets.customer.access``): a one-time code to the request's WhatsApp or
e-mail, short-lived, single-use, a few tries, opening only in the browser that asked; nothing
for anyone else."""

import json
import re
from datetime import timedelta

import pytest
from django_tasks_db.models import DBTaskResult

from tests.support.factories import onecloud_data, storehub_data
from tickets.customer.access import (
    CODES_PER_DAY,
    CODES_PER_HOUR,
    WRONG_TRIES_PER_CODE,
    WRONG_TRIES_PER_DAY,
    access_code_ask,
    access_code_check,
    access_code_send_task,
    normalized_reference,
)
from tickets.customer.intake import submission_create
from tickets.models import AccessCode, OutgoingEmail, WhatsAppMessage
from tickets.operations.upkeep import upkeep_run

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Whether a recipient who did not ask gets them is tests/delivery/test_recipients.py's.
    pytest.mark.usefixtures("confirmed_customers"),
]

# Browsers, by their keys (``tickets.customer.browser.browser_key``): the customer's, and that
# of someone who knows what the customer knows.
CUSTOMER = "c" * 64
STRANGER = "s" * 64


def storehub_request(**overrides):
    return submission_create(provider="storehub", data=storehub_data(**overrides), language="ms")


def code_in(message: dict) -> str:
    return message["template"]["components"][0]["parameters"][0]["text"]


@pytest.fixture
def ask(whatsapp, run_worker):
    """Ask for a code from a browser and let the worker send it: the code WhatsApp brought, or
    None when none came."""

    def ask(submission, *, phone="0123456789", browser=CUSTOMER) -> str | None:
        before = len(whatsapp.sent)
        access_code_ask(reference=submission.reference, phone=phone, browser_key=browser)
        run_worker()
        sent = [m for m in whatsapp.sent[before:] if m["template"]["name"] == "portal_access_code"]
        return code_in(sent[-1]) if sent else None

    return ask


def check(submission, code, *, browser=CUSTOMER):
    return access_code_check(reference=submission.reference, code=code, browser_key=browser)


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_an_opted_in_request_gets_its_code_on_whatsapp(whatsapp, run_worker):
    submission = storehub_request(whatsapp_updates=True)

    access_code_ask(
        reference=submission.reference.lower(), phone="012-345 6789", browser_key=CUSTOMER
    )
    run_worker()

    sent = [m for m in whatsapp.sent if m["template"]["name"] == "portal_access_code"]
    assert len(sent) == 1
    components = sent[0]["template"]["components"]
    code = code_in(sent[0])
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
    assert check(submission, code) == submission


def test_without_whatsapp_the_code_goes_by_e_mail(whatsapp, smtp_server, run_worker):
    submission = storehub_request()

    access_code_ask(reference=submission.reference, phone="+60 12-345 6789", browser_key=CUSTOMER)
    run_worker()

    email = submission.emails.get(kind=OutgoingEmail.Kind.ACCESS_CODE)
    assert email.state == "sent"
    (message,) = [m for m in smtp_server.messages if "Kod anda" in m.subject]
    code = re.search(r"^\s+(\d{6})\s*$", message.text, re.M).group(1)
    # Not in the subject, which staff see on the request's page.
    assert submission.reference in message.subject and code not in email.subject
    assert submission.access_codes.get().code_to_send == ""
    assert not submission.whatsapp_messages.filter(kind="access_code").exists()
    assert check(submission, code) == submission


def test_the_number_typed_stays_out_of_the_task_queue(whatsapp, run_worker):
    submission = storehub_request(whatsapp_updates=True)

    access_code_ask(reference=submission.reference, phone="012-345 6789", browser_key=CUSTOMER)
    (queued,) = DBTaskResult.objects.filter(task_path=access_code_send_task.module_path)
    assert "123456789" not in json.dumps(queued.args_kwargs)
    run_worker()

    # Once it has run, the task's row keeps not even the keyed digests of it.
    assert DBTaskResult.objects.get(pk=queued.pk).args_kwargs == {"args": [], "kwargs": {}}
    assert submission.access_codes.count() == 1


def test_an_indonesian_number_is_read_as_its_own_form_reads_it(ask):
    submission = submission_create(
        provider="onecloud",
        data=onecloud_data(phone="6281234567890", whatsapp_updates=True),
        language="id",
    )

    assert ask(submission, phone="0812-3456-7890") is not None
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
def test_nothing_is_sent_when_the_details_do_not_match(whatsapp, run_worker, reference, phone):
    submission = storehub_request(whatsapp_updates=True)
    if reference == "its own":
        reference = submission.reference

    access_code_ask(reference=reference, phone=phone, browser_key=CUSTOMER)
    run_worker()

    assert not AccessCode.objects.exists()
    assert not WhatsAppMessage.objects.filter(kind="access_code").exists()


def test_a_request_with_no_way_to_reach_it_gets_no_code(ask):
    submission = storehub_request(email="")

    assert ask(submission) is None
    assert not AccessCode.objects.exists()


def test_a_code_works_once(ask):
    submission = storehub_request(whatsapp_updates=True)
    code = ask(submission)

    assert check(submission, code) == submission
    assert check(submission, code) is None


def test_a_code_expires(ask):
    submission = storehub_request(whatsapp_updates=True)
    code = ask(submission)
    AccessCode.objects.update(expires_at=submission.created_at - timedelta(seconds=1))

    assert check(submission, code) is None


def test_five_wrong_tries_end_a_code_even_for_the_right_code(ask):
    submission = storehub_request(whatsapp_updates=True)
    code = ask(submission)

    for _ in range(WRONG_TRIES_PER_CODE):
        assert check(submission, wrong(code)) is None

    assert check(submission, code) is None
    # A new code works: the day's wrong tries are not used up yet.
    assert check(submission, ask(submission)) == submission


def spend_a_day_of_wrong_tries(ask, submission, *, browser=CUSTOMER) -> None:
    """Two codes asked from ``browser``, each tried wrong until it is dead."""
    for _ in range(WRONG_TRIES_PER_DAY // WRONG_TRIES_PER_CODE):
        code = ask(submission, browser=browser)
        for _ in range(WRONG_TRIES_PER_CODE):
            assert check(submission, wrong(code), browser=browser) is None


def test_a_browser_gets_ten_wrong_tries_a_day_at_a_request(ask):
    submission = storehub_request(whatsapp_updates=True)
    spend_a_day_of_wrong_tries(ask, submission)

    # The day's wrong tries are used up: even the right code of a new one opens nothing now.
    assert check(submission, ask(submission)) is None


def test_a_code_opens_only_in_the_browser_that_asked_and_others_use_up_nothing(ask):
    submission = storehub_request(whatsapp_updates=True)
    code = ask(submission)

    # Someone who knows the reference tries from another browser: the right code, then guesses.
    assert check(submission, code, browser=STRANGER) is None
    for guess in range(3 * WRONG_TRIES_PER_CODE):
        assert check(submission, f"{guess:06d}", browser=STRANGER) is None

    assert submission.access_codes.get().wrong_tries == 0
    assert check(submission, code) == submission


def test_a_stranger_asking_codes_for_themselves_leaves_the_customer_their_day(ask):
    submission = storehub_request(whatsapp_updates=True)
    # Someone who knows the reference and the number: the codes go to the customer's phone.
    spend_a_day_of_wrong_tries(ask, submission, browser=STRANGER)

    assert check(submission, ask(submission)) == submission


def test_the_daily_upkeep_leaves_the_days_wrong_tries_counted(ask):
    submission = storehub_request(whatsapp_updates=True)
    spend_a_day_of_wrong_tries(ask, submission)
    AccessCode.objects.update(expires_at=submission.created_at)

    upkeep_run()

    assert check(submission, ask(submission)) is None
    # A day on, nothing counts them any more: the upkeep deletes them.
    a_day_ago = submission.created_at - timedelta(days=1, minutes=1)
    AccessCode.objects.update(created_at=a_day_ago, expires_at=a_day_ago)
    assert upkeep_run()["access_codes_deleted"] == 3


def test_a_new_code_ends_the_ones_before_it(ask):
    submission = storehub_request(whatsapp_updates=True)
    first = ask(submission)
    second = ask(submission)

    assert check(submission, first) is None
    assert check(submission, second) == submission


def test_a_request_gets_a_few_codes_an_hour_and_a_day_at_most(whatsapp, run_worker):
    submission = storehub_request(whatsapp_updates=True)

    def ask_five_times():
        for _ in range(5):
            access_code_ask(
                reference=submission.reference, phone="0123456789", browser_key=CUSTOMER
            )
        run_worker()

    ask_five_times()
    assert submission.access_codes.count() == CODES_PER_HOUR

    AccessCode.objects.update(created_at=submission.created_at - timedelta(hours=2))
    ask_five_times()
    assert submission.access_codes.count() == CODES_PER_DAY


def test_a_code_that_expired_before_its_message_went_is_not_sent(whatsapp, smtp_server, run_worker):
    submission = storehub_request()
    run_worker()  # its forward and e-mails
    access_code_ask(reference=submission.reference, phone="0123456789", browser_key=CUSTOMER)
    run_worker(max_tasks=1)  # the code, not yet its e-mail
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

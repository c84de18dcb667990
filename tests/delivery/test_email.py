"""E-mails (``tickets.delivery.email``), against a real SMTP server on loopback: the
customer told in their own language, staff told when a request needs a person, nothing lost
when the mail server fails."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.support.factories import form_post, onecloud_data, storehub_data
from tests.support.submissions import refreshed, send_tasks
from tickets.admin.staff import submission_cancel
from tickets.customer.intake import submission_create
from tickets.delivery.email import email_send_task
from tickets.delivery.recipients import status_link_token
from tickets.models import OutgoingEmail, StaffAlert, Status, Submission

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Whether a recipient who did not ask gets them is tests/delivery/test_recipients.py's.
    pytest.mark.usefixtures("confirmed_customers"),
]


def translated(language: str, text: str) -> str:
    from django.utils import translation

    with translation.override(language):
        return translation.gettext(text)


# --- the customer's e-mails ---------------------------------------------------------------
@pytest.mark.parametrize("language", ["en", "ms", "id"])
def test_the_customer_gets_a_receipt_and_the_ticket_number_in_their_language(
    sandbox, run_worker, smtp_server, language
):
    submission = submission_create(provider="onecloud", data=onecloud_data(), language=language)

    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.SENT
    receipt, number = smtp_server.messages
    status_url = "http://127.0.0.1:8000" + reverse("tickets:status", args=[submission.public_id])
    # The link confirms the address it was sent to when opened.
    status_url += f"?confirm={status_link_token(submission)}"
    assert receipt.to == number.to == [submission.email]
    assert submission.reference in receipt.subject
    assert status_url in receipt.text and f'href="{status_url}"' in receipt.html
    assert submission.ticket_id in number.subject
    assert submission.ticket_id in number.text and submission.ticket_id in number.html
    assert status_url in number.text
    # In the customer's language, not English (except for English customers).
    your_reference = translated(language, "Your reference")
    assert your_reference in receipt.text and your_reference in number.text
    if language != "en":
        assert "Your reference" not in receipt.text + receipt.html + number.text + number.html
        assert "Hello" not in receipt.text
    # Plain text and HTML; no tracking: no images, no pixels.
    assert "<img" not in receipt.html + number.html
    assert receipt.headers["Auto-Submitted"] == "auto-generated"
    kinds = list(submission.emails.values_list("kind", "state"))
    assert kinds == [("receipt", "sent"), ("ticket_number", "sent")]


def test_the_receipt_gives_the_time_in_the_customers_time_zone(sandbox, run_worker, smtp_server):
    submission_create(provider="onecloud", data=onecloud_data(), language="id")
    submission_create(provider="storehub", data=storehub_data(), language="ms")

    run_worker()

    onecloud, storehub = (
        next(m for m in smtp_server.messages if m.to == [address])
        for address in (onecloud_data()["email"], storehub_data()["email"])
    )
    assert re.search(r"Dikirim pada: \d{1,2} \w+ 20\d\d, \d\d:\d\d WIB", onecloud.text)
    assert re.search(r"\d{1,2} \w+ 20\d\d, \d\d:\d\d MYT", storehub.text)


def test_a_storehub_customer_is_told_to_quote_the_case_number(sandbox, run_worker, smtp_server):
    submission = submission_create(provider="storehub", data=storehub_data())

    run_worker()

    submission = refreshed(submission)
    _receipt, number = smtp_server.messages
    assert submission.case_number in number.text
    assert "Quote the case number if you contact the support team." in number.text
    assert "Quote the ticket number" not in number.text + number.html


def test_the_customers_own_text_is_escaped_in_the_html(sandbox, run_worker, smtp_server):
    submission_create(
        provider="onecloud", data=onecloud_data(name='Agung <script>alert("x")</script>')
    )

    run_worker()

    receipt = smtp_server.messages[0]
    assert "<script>" not in receipt.html
    assert "&lt;script&gt;" in receipt.html


def test_a_storehub_request_without_an_email_gets_none(sandbox, run_worker, smtp_server):
    submission = submission_create(provider="storehub", data=storehub_data(email=""))

    run_worker()

    assert refreshed(submission).status == Status.SENT
    assert smtp_server.messages == []
    assert not OutgoingEmail.objects.exists()


def test_cancelling_and_rejecting_tell_the_customer(sandbox, run_worker, smtp_server):
    sandbox.script("storehub", "-10000")
    rejected = submission_create(provider="storehub", data=storehub_data(), language="ms")
    run_worker()
    assert refreshed(rejected).status == Status.REJECTED

    assert submission_cancel(submission=refreshed(rejected), user=None, reason="Not ours")
    run_worker()

    kinds = list(rejected.emails.values_list("kind", flat=True))
    assert kinds == ["receipt", "rejected", "cancelled"]
    subjects = [message.subject for message in smtp_server.messages]
    assert all(rejected.reference in subject for subject in subjects)
    assert len(set(subjects)) == 3


def test_no_email_is_sent_inside_the_web_request(
    client, sandbox, run_worker, smtp_server, settings
):
    settings.FORM_RATE_LIMIT = 1000
    client.post(
        reverse("tickets:form", args=["onecloud"]),
        form_post("onecloud"),
        HTTP_ACCEPT_LANGUAGE="id",
    )

    submission = Submission.objects.get()
    assert submission.language == "id"
    assert smtp_server.messages == []
    # The web request stores the request and its forward; the worker writes the receipt.
    assert not submission.emails.exists()

    run_worker()

    receipt, _number = smtp_server.messages
    assert submission.reference in receipt.subject
    assert translated("id", "Your reference") in receipt.text


def test_a_receipt_that_cannot_be_written_is_written_by_the_next_forward(
    sandbox, run_worker, smtp_server, monkeypatch
):
    """The receipt is written with the first forward's claim: when writing it fails (a locked
    database), the claim fails with it, and the request waits for its next forward as it was,
    not as a forward cut short with a possible duplicate at the provider."""
    from django.db import OperationalError

    from tickets.delivery import email as notifications
    from tickets.delivery import forward

    submission = submission_create(provider="onecloud", data=onecloud_data())
    write_receipt = notifications._receipt

    def locked(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(notifications, "_receipt", locked)
    with pytest.raises(OperationalError):
        forward.submission_forward(submission_id=submission.pk)
    monkeypatch.setattr(notifications, "_receipt", write_receipt)

    unchanged = refreshed(submission)
    assert unchanged.status == Status.QUEUED
    assert unchanged.lease_expires_at is None
    assert sandbox.requests("onecloud") == []
    assert not submission.emails.exists()

    forward.submission_forward(submission_id=submission.pk)
    run_worker()

    sent = refreshed(submission)
    assert sent.status == Status.SENT
    assert not sent.possible_duplicate
    kinds = sorted(submission.emails.values_list("kind", flat=True))
    assert kinds == ["receipt", "ticket_number"]
    subjects = [message.subject for message in smtp_server.messages]
    assert len(subjects) == len(set(subjects)) == 2


def test_a_forward_run_again_writes_no_second_receipt(sandbox, run_worker, smtp_server):
    sandbox.script("onecloud", "503", "success")
    submission = submission_create(provider="onecloud", data=onecloud_data())

    run_worker()  # the 503, then its retry (a few seconds later) delivers it

    assert refreshed(submission).status == Status.SENT
    assert refreshed(submission).forward_count == 2
    kinds = sorted(submission.emails.values_list("kind", flat=True))
    assert kinds == ["receipt", "ticket_number"]


# --- a mail server that fails -------------------------------------------------------------
def retries_due_now() -> None:
    """The e-mails' retries, due now instead of in a few seconds or minutes."""
    now = timezone.now()
    send_tasks().update(run_after=now)
    OutgoingEmail.objects.filter(
        state=OutgoingEmail.State.QUEUED, next_attempt_at__isnull=False
    ).update(next_attempt_at=now)


def test_an_email_the_mail_server_refused_is_sent_again(
    sandbox, run_worker, smtp_server, admin_client
):
    smtp_server.refuse_next = 1
    submission = submission_create(provider="storehub", data=storehub_data())

    run_worker()

    receipt = submission.emails.get(kind=OutgoingEmail.Kind.RECEIPT)
    assert receipt.state == OutgoingEmail.State.QUEUED
    assert receipt.attempts == 1
    assert "451" in receipt.last_error
    # Staff see why it waits and when it is tried again.
    page = admin_client.get(
        reverse("admin:tickets_submission_change", args=[submission.pk])
    ).content.decode()
    assert "451" in page
    next_try = timezone.localtime(receipt.next_attempt_at).isoformat()
    assert f'next try <time datetime="{next_try}">' in page
    # The retry waits ten seconds; let it be due now.
    retries_due_now()
    run_worker()

    receipt.refresh_from_db()
    assert receipt.state == OutgoingEmail.State.SENT
    assert receipt.attempts == 2
    assert [m.subject for m in smtp_server.messages].count(receipt.subject) == 1


def test_a_second_task_never_sends_a_retry_before_its_time(sandbox, run_worker, smtp_server):
    smtp_server.refuse_next = 1
    submission = submission_create(provider="onecloud", data=onecloud_data())
    run_worker()
    receipt = submission.emails.get(kind=OutgoingEmail.Kind.RECEIPT)
    assert receipt.attempts == 1  # refused; the retry is due in about ten seconds

    # A second task for it (one the sweep added, say) runs now.
    email_send_task.enqueue(receipt.pk)
    run_worker()

    receipt.refresh_from_db()
    assert receipt.attempts == 1
    assert receipt.state == OutgoingEmail.State.QUEUED
    assert receipt.subject not in [m.subject for m in smtp_server.messages]


def test_a_second_task_during_a_send_sends_nothing(sandbox, run_worker, smtp_server, monkeypatch):
    from tickets.delivery import email as notifications

    submission = submission_create(provider="onecloud", data=onecloud_data())
    run_worker(max_tasks=1)  # the forward writes the receipt; nothing is sent yet
    receipt = submission.emails.get(kind=OutgoingEmail.Kind.RECEIPT)
    build = notifications._message_for
    second_task = []

    def build_while_a_second_task_runs(email):
        # The first worker has claimed the e-mail and is sending it; a second task runs.
        second_task.append(notifications.email_send(email_id=email.pk))
        return build(email)

    monkeypatch.setattr(notifications, "_message_for", build_while_a_second_task_runs)
    notifications.email_send(email_id=receipt.pk)

    assert second_task == [None]
    receipt.refresh_from_db()
    assert (receipt.state, receipt.attempts) == (OutgoingEmail.State.SENT, 1)
    assert [m.subject for m in smtp_server.messages].count(receipt.subject) == 1


def test_an_email_that_cannot_be_built_is_retried_then_given_up_and_kept_for_staff(
    sandbox, run_worker, smtp_server, settings, monkeypatch
):
    from tickets.delivery import email as notifications

    settings.MESSAGE_MAX_ATTEMPTS = 2

    def broken(email):
        raise KeyError("a template of ours refers to a missing value")

    monkeypatch.setattr(notifications, "_message_for", broken)
    submission = submission_create(provider="storehub", data=storehub_data())
    run_worker()
    receipt = submission.emails.get(kind=OutgoingEmail.Kind.RECEIPT)
    assert (receipt.state, receipt.attempts) == (OutgoingEmail.State.QUEUED, 1)
    assert "KeyError" in receipt.last_error

    retries_due_now()
    run_worker()

    receipt.refresh_from_db()
    assert (receipt.state, receipt.attempts) == (OutgoingEmail.State.FAILED, 2)
    assert receipt.next_attempt_at is None


def test_an_address_refused_for_good_is_given_up_at_once(sandbox, run_worker, smtp_server, caplog):
    smtp_server.unknown_addresses = {"no-such-shop@example.my"}
    submission = submission_create(
        provider="storehub", data=storehub_data(email="no-such-shop@example.my")
    )

    run_worker()

    receipt = submission.emails.get(kind=OutgoingEmail.Kind.RECEIPT)
    assert (receipt.state, receipt.attempts) == (OutgoingEmail.State.FAILED, 1)
    assert "550" in receipt.last_error
    assert not send_tasks().exists()  # no retry: none would change the answer
    # The address is the customer's personal data: staff see it on the e-mail, not in the error.
    assert receipt.last_error.startswith("SMTPRecipientsRefused: 550")
    assert "no-such-shop" not in receipt.last_error
    portal_log = [r.getMessage() for r in caplog.records if r.name.startswith("tickets")]
    assert portal_log and not any("no-such-shop" in line for line in portal_log)


def test_an_email_that_keeps_failing_is_given_up_and_kept_for_staff(
    sandbox, run_worker, smtp_server, settings
):
    settings.MESSAGE_MAX_ATTEMPTS = 2
    smtp_server.refuse_next = 10
    submission = submission_create(provider="storehub", data=storehub_data())
    for _ in range(3):
        retries_due_now()
        run_worker()

    receipt = submission.emails.get(kind=OutgoingEmail.Kind.RECEIPT)
    assert receipt.state == OutgoingEmail.State.FAILED
    assert receipt.attempts == 2


# --- staff alerts -------------------------------------------------------------------------
@pytest.fixture
def staff(settings):
    settings.STAFF_ALERT_EMAILS = ["support-lead@example.my", "ops@example.my"]
    settings.OUTBOX_CONFIG_RETRY_SECONDS = 3600


def test_staff_are_alerted_at_once_when_a_request_is_held(sandbox, run_worker, smtp_server, staff):
    sandbox.script("storehub", "-10014")
    submission = submission_create(provider="storehub", data=storehub_data(email=""))

    run_worker()

    assert refreshed(submission).status == Status.HELD
    [alert] = smtp_server.messages
    assert sorted(alert.to) == ["ops@example.my", "support-lead@example.my"]
    assert submission.reference in alert.text
    admin_url = "http://127.0.0.1:8000" + reverse(
        "admin:tickets_submission_change", args=[submission.pk]
    )
    assert admin_url in alert.text and admin_url in alert.html
    assert "held" in alert.text
    assert_no_personal_data(alert, submission)


def test_later_alerts_are_gathered_in_one_digest(sandbox, run_worker, smtp_server, staff):
    sandbox.script("storehub", "-10014")
    first = submission_create(provider="storehub", data=storehub_data(email=""))
    run_worker()
    assert len(smtp_server.messages) == 1

    sandbox.script("storehub", "-10000", "-10014", "-10001")
    later = [
        submission_create(provider="storehub", data=storehub_data(email="", name=f"Shop {n}"))
        for n in range(3)
    ]
    run_worker()
    # Within the 15 minutes after the first alert, nothing more is sent...
    assert len(smtp_server.messages) == 1
    waiting = DBTaskResult.objects.filter(
        task_path="tickets.delivery.email.staff_alerts_send_task", status="READY"
    )
    assert waiting.exists()
    assert min(w.run_after for w in waiting) >= timezone.now() + timedelta(minutes=14)

    # ...then one digest carries all three.
    OutgoingEmail.objects.filter(kind=OutgoingEmail.Kind.STAFF_ALERT).update(
        created_at=timezone.now() - timedelta(minutes=16)
    )
    waiting.update(run_after=timezone.now())
    run_worker()

    assert len(smtp_server.messages) == 2
    digest = smtp_server.messages[1]
    for submission in later:
        assert submission.reference in digest.text
        assert_no_personal_data(digest, submission)
    assert first.reference not in digest.text
    assert "3" in digest.subject
    assert not StaffAlert.objects.filter(email__isnull=True).exists()


def test_a_failed_request_and_a_possible_duplicate_alert_staff(
    sandbox, run_worker, smtp_server, staff, settings
):
    settings.FORWARD_RETRY_PERIOD_SECONDS = 0
    sandbox.script("storehub", "500")
    failed = submission_create(provider="storehub", data=storehub_data(email=""))
    run_worker()

    assert refreshed(failed).status == Status.FAILED
    assert list(failed.alerts.values_list("reason", flat=True)) == ["failed"]

    # A ticket created and its answer lost: delivered on the next try, and staff told to check.
    settings.FORWARD_RETRY_PERIOD_SECONDS = 3600
    sandbox.script("storehub", "create_drop")
    duplicated = submission_create(provider="storehub", data=storehub_data(email=""))
    run_worker()

    assert refreshed(duplicated).status == Status.SENT
    assert list(duplicated.alerts.values_list("reason", flat=True)) == ["possible_duplicate"]


def test_no_alert_without_staff_addresses(sandbox, run_worker, smtp_server, settings):
    settings.STAFF_ALERT_EMAILS = []
    sandbox.script("storehub", "-10014")
    submission_create(provider="storehub", data=storehub_data(email=""))

    run_worker()

    assert smtp_server.messages == []
    assert not StaffAlert.objects.exists()


def test_a_held_request_tried_again_and_held_again_is_not_alerted_twice(
    sandbox, run_worker, smtp_server, staff, settings
):
    settings.STAFF_ALERT_DIGEST_SECONDS = 0
    sandbox.script("storehub", "-10014", "-10014")
    submission = submission_create(provider="storehub", data=storehub_data(email=""))
    run_worker()
    # Its next try (an hour away) comes now, and it is held again.
    Submission.objects.filter(pk=submission.pk).update(next_attempt_at=timezone.now())
    DBTaskResult.objects.filter(
        task_path="tickets.delivery.forward.submission_forward_task", status="READY"
    ).update(run_after=timezone.now())
    run_worker()

    assert len(sandbox.requests("storehub")) == 2
    assert submission.alerts.count() == 1
    assert len(smtp_server.messages) == 1


def assert_no_personal_data(mail, submission) -> None:
    everything = mail.subject + mail.text + mail.html
    for value in (submission.name, submission.phone, submission.email):
        if value:
            assert value not in everything
    assert "Jalan" not in everything  # the address

"""One delivery mechanism, three outboxes: every rule of ``tickets.delivery.outbox`` holds for
forwards, e-mails and WhatsApp messages alike. An outbox added to ``recovery.OUTBOXES`` runs
here too once ``OWED`` has a builder of a row it owes."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django_tasks_db.models import DBTaskResult

from tests.support.factories import storehub_data
from tests.support.sqlite import the_writer_held_elsewhere
from tickets.customer.intake import submission_create
from tickets.delivery.clock import database_now
from tickets.delivery.email import EMAILS
from tickets.delivery.outbox import MessageOutbox
from tickets.delivery.recovery import OUTBOXES, outbox_sweep
from tickets.delivery.whatsapp.service import WHATSAPP_MESSAGES
from tickets.models import OutgoingEmail, Recipient, Status, Submission, WhatsAppMessage

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.parametrize("outbox", OUTBOXES, ids=lambda outbox: outbox.name),
    # The rows' recipients have confirmed: these tests are about the claims alone.
    pytest.mark.usefixtures("confirmed_customers"),
]


def a_forward():
    return submission_create(provider="storehub", data=storehub_data())


def an_email():
    submission = Submission.objects.create(provider="storehub", name="Ahmad", email="a@b.my")
    email = OutgoingEmail.objects.create(
        submission=submission,
        kind=OutgoingEmail.Kind.RECEIPT,
        to=submission.email,
        language="en",
        next_attempt_at=database_now(),
    )
    EMAILS.schedule(email)
    return email


def a_whatsapp_message():
    submission = Submission.objects.create(provider="storehub", name="Ahmad", phone="60123456789")
    message = WhatsAppMessage.objects.create(
        submission=submission,
        kind=WhatsAppMessage.Kind.RECEIPT,
        to=submission.phone,
        language="ms",
        template="portal_receipt",
        parameters=[submission.reference, "StoreHub", "https://example.my/status/x/"],
        next_attempt_at=database_now(),
    )
    WHATSAPP_MESSAGES.schedule(message)
    return message


# A row each outbox owes, due now, with its task queued where the portal queues it.
OWED = {"forwards": a_forward, "emails": an_email, "whatsapp": a_whatsapp_message}


def owed_row(outbox):
    assert outbox.name in OWED, f"tests/delivery/test_outbox.py: OWED has no {outbox.name} row"
    return OWED[outbox.name]()


def tasks_waiting(outbox, row):
    return DBTaskResult.objects.filter(
        task_path=outbox.task.module_path, status="READY", args_kwargs__args__0=row.pk
    )


def test_a_row_is_claimed_by_one_worker_at_a_time(outbox, sandbox):
    row = owed_row(outbox)

    claimed = outbox.claim(row.pk)

    assert claimed is not None and claimed.claim_token is not None
    assert outbox.claim(row.pk) is None  # a second task finds it leased
    leased_until = outbox.model.objects.get(pk=row.pk).lease_expires_at
    expected = database_now() + timedelta(seconds=outbox.lease_seconds())
    assert abs((leased_until - expected).total_seconds()) < 5  # on the database's clock


def test_only_the_holder_of_the_claim_may_write_its_outcome(outbox, sandbox):
    row = owed_row(outbox)
    first = outbox.claim(row.pk)
    outbox.model.objects.filter(pk=row.pk).update(
        lease_expires_at=database_now() - timedelta(seconds=1)
    )
    outbox_sweep()  # the first worker counted as gone
    second = outbox.claim(row.pk)

    with transaction.atomic():
        _row, first_holds = outbox.held_by(row.pk, first.claim_token)
        _row, second_holds = outbox.held_by(row.pk, second.claim_token)
    assert (first_holds, second_holds) == (False, True)


def test_a_row_not_yet_due_is_not_claimed_and_gets_one_task_for_its_time(outbox, sandbox):
    row = owed_row(outbox)
    later = database_now() + timedelta(hours=1)
    outbox.model.objects.filter(pk=row.pk).update(next_attempt_at=later)
    DBTaskResult.objects.all().delete()

    assert outbox.claim(row.pk) is None
    outbox.schedule_if_early(row.pk)
    outbox.schedule_if_early(row.pk)  # a duplicate task finds one waiting

    [task] = tasks_waiting(outbox, row)
    assert task.run_after > database_now() + timedelta(minutes=59)


def test_a_lease_that_ran_out_is_recovered_and_the_row_owed_again(outbox, sandbox):
    row = owed_row(outbox)
    outbox.claim(row.pk)
    DBTaskResult.objects.all().delete()
    outbox.model.objects.filter(pk=row.pk).update(
        lease_expires_at=database_now() - timedelta(seconds=1)
    )

    counts = outbox_sweep()

    assert counts[f"{outbox.name}_recovered"] == 1
    recovered = outbox.model.objects.get(pk=row.pk)
    assert recovered.lease_expires_at is None and recovered.claim_token is None
    assert outbox.model.objects.filter(outbox.owed(), pk=row.pk).exists()
    assert tasks_waiting(outbox, row).count() == 1
    assert outbox.claim(row.pk) is not None  # due at once: the lease has been waited out


def test_a_lost_task_is_queued_again_once_and_a_waiting_one_is_left_alone(
    outbox, sandbox, settings
):
    settings.OUTBOX_SWEEP_GRACE_SECONDS = 60
    row = owed_row(outbox)
    outbox.model.objects.filter(pk=row.pk).update(
        next_attempt_at=database_now() - timedelta(minutes=5)
    )
    assert tasks_waiting(outbox, row).count() == 1

    assert outbox_sweep()[f"{outbox.name}_requeued"] == 0  # its task waits: a backlog
    tasks_waiting(outbox, row).delete()
    assert outbox_sweep()[f"{outbox.name}_requeued"] == 1
    assert outbox_sweep()[f"{outbox.name}_requeued"] == 0
    assert tasks_waiting(outbox, row).count() == 1


def test_a_row_owed_nothing_is_never_claimed(outbox, whatsapp, smtp_server, run_worker):
    row = owed_row(outbox)
    run_worker()  # the work is done: sent
    row = outbox.model.objects.get(pk=row.pk)
    assert getattr(row, "status", getattr(row, "state", None)) in (Status.SENT, "sent")

    assert outbox.claim(row.pk) is None


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's one writer")
def test_a_task_with_nothing_to_claim_does_not_wait_for_the_web_s_writes(
    outbox, whatsapp, smtp_server, run_worker
):
    row = owed_row(outbox)
    run_worker()  # its row done, by a batch say

    with the_writer_held_elsewhere() as released:
        assert outbox.claim(row.pk) is None
        assert outbox.claim_next() is None
        assert not released.is_set()  # answered while the post still held the writer


def test_one_task_does_the_rows_waiting_in_a_burst_and_takes_their_tasks_off_the_queue(
    outbox, whatsapp, smtp_server, run_worker
):
    burst = [owed_row(outbox) for _ in range(4)]

    run_worker(max_tasks=1)

    for row in burst:
        assert not outbox.model.objects.filter(outbox.owed(), pk=row.pk).exists()
        assert not tasks_waiting(outbox, row).exists()


def test_a_row_its_outbox_refuses_is_settled_without_a_task_left_waiting(
    outbox, sandbox, run_worker
):
    if not isinstance(outbox, MessageOutbox):
        pytest.skip("only messages are refused: to a recipient who did not ask for them")
    Recipient.objects.all().delete()  # nobody confirmed: a day's allowance at most
    rows = [owed_row(outbox) for _ in range(2)]  # two requests naming one address

    run_worker()

    withheld = outbox.model.objects.filter(
        pk__in=[row.pk for row in rows], state=outbox.model.State.WITHHELD
    )
    assert withheld.exists()
    for row in withheld:
        assert row.last_error  # why, for staff
        assert not tasks_waiting(outbox, row).exists()

"""The sweep (``tickets.delivery.recovery``): work a dead worker left behind, and tasks that
were lost, are picked up again in every outbox, oldest first; work that only waits for its
time or its turn is left alone."""

import signal
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.support.factories import onecloud_data, storehub_data
from tests.support.submissions import send_tasks
from tests.support.workers import start_worker, wait_for
from tickets.customer.intake import submission_create
from tickets.delivery import recovery
from tickets.delivery.forward import submission_forward_task
from tickets.delivery.recovery import outbox_sweep
from tickets.models import ErrorClass, OutgoingEmail, ProviderCall, Status, Submission

pytestmark = pytest.mark.django_db(transaction=True)


# --- forwards -----------------------------------------------------------------------------
@pytest.mark.system
def test_a_worker_killed_mid_forward_does_not_lose_the_submission(sandbox, settings, tmp_path):
    settings.OUTBOX_SWEEP_INTERVAL_SECONDS = 0.5
    # The provider holds the first call open, so the worker is killed in the middle of it.
    sandbox.script("storehub", "hang:20")
    first = start_worker(sandbox, "first", tmp_path, FORWARD_LEASE_SECONDS="2")
    try:
        submission = submission_create(provider="storehub", data=storehub_data())
        wait_for(lambda: len(sandbox.requests("storehub")) == 1)
        assert Submission.objects.get(pk=submission.pk).status == Status.SENDING
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()

    second = start_worker(sandbox, "second", tmp_path, FORWARD_LEASE_SECONDS="2")
    try:
        wait_for(lambda: Submission.objects.get(pk=submission.pk).status == Status.SENT)
    finally:
        second.terminate()
        second.wait(timeout=10)

    submission.refresh_from_db()
    assert submission.case_number.startswith("STOREHUB")
    assert len(sandbox.created("storehub")) == 1
    # The lost call may have reached the provider: staff are told to check.
    assert submission.possible_duplicate
    lost = submission.calls.get(error_class=ErrorClass.UNKNOWN_OUTCOME)
    assert "worker stopped" in lost.message
    assert submission.calls.filter(kind=ProviderCall.Kind.TICKET, error_class="success").exists()


def test_a_submission_whose_task_was_lost_is_requeued_by_the_sweep(sandbox, run_worker, settings):
    submission = submission_create(provider="storehub", data=storehub_data())
    # Simulate a crash between the commit and the enqueue: the task row never existed.
    DBTaskResult.objects.filter(task_path=submission_forward_task.module_path).delete()
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Submission.objects.filter(pk=submission.pk).update(
        updated_at=an_hour_ago, next_attempt_at=an_hour_ago
    )

    call_command("outbox_sweep")
    run_worker()

    assert Submission.objects.get(pk=submission.pk).status == Status.SENT
    assert len(sandbox.created("storehub")) == 1


def test_the_sweep_requeues_the_oldest_requests_first(sandbox, settings, monkeypatch):
    settings.OUTBOX_SWEEP_GRACE_SECONDS = 0
    created = [submission_create(provider="storehub", data=storehub_data()) for _ in range(3)]
    DBTaskResult.objects.filter(task_path=submission_forward_task.module_path).delete()
    Submission.objects.filter(pk=created[0].pk).update(
        created_at=timezone.now() - timedelta(days=1)
    )
    monkeypatch.setattr(recovery, "SWEEP_BATCH", 1)

    assert outbox_sweep()["forwards_requeued"] == 1

    [queued] = DBTaskResult.objects.filter(task_path=submission_forward_task.module_path)
    assert queued.args_kwargs["args"] == [created[0].pk]


# --- e-mails ------------------------------------------------------------------------------
def sweep_after(seconds: float) -> None:
    """The sweep, run as if ``seconds`` had passed for every waiting e-mail."""
    from django.core.management import call_command

    earlier = timedelta(seconds=seconds)
    for email in OutgoingEmail.objects.filter(state=OutgoingEmail.State.QUEUED):
        OutgoingEmail.objects.filter(pk=email.pk).update(
            created_at=email.created_at - earlier,
            next_attempt_at=email.next_attempt_at and email.next_attempt_at - earlier,
            lease_expires_at=email.lease_expires_at and email.lease_expires_at - earlier,
        )
    call_command("outbox_sweep", verbosity=0)


def test_an_email_whose_retry_task_was_lost_is_sent_by_the_sweep(sandbox, run_worker, smtp_server):
    smtp_server.refuse_next = 1  # the receipt, the first e-mail sent
    submission = submission_create(provider="onecloud", data=onecloud_data())
    run_worker()
    receipt = submission.emails.get(kind=OutgoingEmail.Kind.RECEIPT)
    assert receipt.attempts == 1 and receipt.state == OutgoingEmail.State.QUEUED
    # The retry's task is lost (a queue wiped, a restore from a backup).
    send_tasks().delete()

    sweep_after(5)  # not yet overdue: its retry is due in about 10 s, then the grace period
    assert not send_tasks().exists()
    sweep_after(10 + 121)
    run_worker()

    receipt.refresh_from_db()
    assert receipt.state == OutgoingEmail.State.SENT
    assert receipt.attempts == 2


def test_an_email_whose_worker_died_while_sending_is_sent_by_the_sweep(
    sandbox, run_worker, smtp_server
):
    from tickets.delivery import email as notifications

    submission = submission_create(provider="onecloud", data=onecloud_data())
    run_worker(max_tasks=1)  # the forward writes the receipt and the number; neither is sent
    receipt = submission.emails.get(kind=OutgoingEmail.Kind.RECEIPT)
    # A worker takes it, counts the attempt, and is killed before the mail server answers.
    send_tasks().delete()
    OutgoingEmail.objects.filter(pk=receipt.pk).update(
        attempts=1,
        claim_token=uuid.uuid4(),
        lease_expires_at=timezone.now() + timedelta(seconds=notifications.SEND_LEASE_SECONDS),
    )

    sweep_after(60)  # still within the time a send may take
    assert not send_tasks().exists()
    sweep_after(notifications.SEND_LEASE_SECONDS + 121)
    run_worker()

    receipt.refresh_from_db()
    assert receipt.state == OutgoingEmail.State.SENT
    assert [m.subject for m in smtp_server.messages].count(receipt.subject) == 1


def test_an_overdue_email_whose_task_still_waits_gets_no_second_one(sandbox, run_worker):
    submission = submission_create(provider="onecloud", data=onecloud_data())
    run_worker(max_tasks=1)  # receipt and number written; their tasks wait behind a backlog
    assert submission.emails.count() == 2
    assert send_tasks().count() == 2

    sweep_after(3600)

    assert send_tasks().count() == 2


def test_a_retry_waiting_for_its_time_is_left_alone_by_the_sweep(sandbox, run_worker, smtp_server):
    from django.core.management import call_command

    smtp_server.refuse_next = 1
    submission = submission_create(provider="onecloud", data=onecloud_data())
    run_worker()
    receipt = submission.emails.get(kind=OutgoingEmail.Kind.RECEIPT)
    # Written days ago, refused many times, its next try in an hour: waiting, not lost.
    OutgoingEmail.objects.filter(pk=receipt.pk).update(
        created_at=timezone.now() - timedelta(days=2),
        next_attempt_at=timezone.now() + timedelta(hours=1),
    )
    send_tasks().delete()

    call_command("outbox_sweep", verbosity=0)

    assert not send_tasks().exists()

"""Every way into the task queue (``tickets.delivery.scheduling``): a task is queued with the
transaction that wrote its row, to run when the row is due; a queue that fails loses nothing;
exactly one sweep always waits."""

import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.support.factories import form_post, storehub_data
from tests.support.submissions import create, refreshed, send_tasks
from tickets.customer.access import access_code_ask
from tickets.customer.intake import submission_create
from tickets.delivery import recovery
from tickets.delivery.forward import submission_forward
from tickets.delivery.recovery import outbox_sweep_task
from tickets.delivery.scheduling import periodic_ensure_scheduled
from tickets.models import OutgoingEmail, Status, Submission

pytestmark = pytest.mark.django_db(transaction=True)

SWEEP_TASK = "tickets.delivery.recovery.outbox_sweep_task"
FORWARD_TASK = "tickets.delivery.forward.submission_forward_task"
EMAIL_TASK = "tickets.delivery.email.email_send_task"


def waiting_sweeps():
    return DBTaskResult.objects.filter(task_path=SWEEP_TASK, status="READY")


# --- into the queue -----------------------------------------------------------------------
@pytest.mark.parametrize("watched", ["forward", "access code"])
def test_work_a_customer_waits_for_goes_ahead_of_e_mails_already_waiting(
    sandbox, smtp_server, run_worker, watched
):
    for earlier in [create("storehub") for _ in range(3)]:
        submission_forward(submission_id=earlier.pk)  # their e-mails now wait in the queue
    assert send_tasks().count() >= 3
    # Forwarded here, not by their tasks: a worker would run those first, and the first would
    # go on with the next due forward, this test's, taking its task off the queue.
    DBTaskResult.objects.filter(task_path=FORWARD_TASK).delete()
    if watched == "forward":
        create("storehub")
        task_path = FORWARD_TASK
    else:
        # Its search goes ahead too, then the e-mail with the code.
        access_code_ask(
            reference=earlier.reference, phone=f"+{earlier.phone}", browser_key="b" * 64
        )
        task_path = EMAIL_TASK

    run_worker()

    if watched == "access code":
        assert earlier.emails.filter(kind="access_code").exists()

    task = DBTaskResult.objects.filter(task_path=task_path).latest("enqueued_at")
    assert task.status == "SUCCESSFUL"
    # The e-mails that waited were settled (sent or withheld) after the watched work began, some
    # by its task's batch.
    older_emails = OutgoingEmail.objects.filter(created_at__lt=task.enqueued_at)
    assert older_emails.count() >= 3
    assert not older_emails.filter(state="queued").exists()
    assert older_emails.filter(state="sent").exists()
    assert not older_emails.filter(sent_at__lt=task.started_at).exists()


def test_a_retry_is_queued_with_run_after_its_back_off(sandbox, settings, run_worker):
    settings.FORWARD_RETRY_FIRST_WAITS = [600]
    sandbox.script("storehub", "-10008")
    submission = create("storehub")

    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.RETRYING
    waiting = DBTaskResult.objects.filter(
        task_path="tickets.delivery.forward.submission_forward_task", status="READY"
    ).get()
    # The task waits as long as the submission: the wait of the policy, spread by up to 20 %.
    assert abs((waiting.run_after - submission.next_attempt_at).total_seconds()) < 1
    assert 480 - 5 <= (submission.next_attempt_at - timezone.now()).total_seconds() <= 720


def test_a_queue_that_fails_after_the_commit_still_shows_the_status_page_and_delivers(
    sandbox, run_worker, client, settings
):
    settings.FORM_RATE_LIMIT = 1000
    working_queue = settings.TASKS
    settings.TASKS = {"default": {"BACKEND": "tests.support.task_backends.UnreachableQueue"}}

    response = client.post(
        reverse("tickets:form", args=["storehub"]),
        form_post("storehub"),
    )

    submission = Submission.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:status", args=[submission.public_id])
    assert client.get(response["Location"]).status_code == 200
    assert submission.status == Status.QUEUED

    # The queue is back. The sweep finds the request whose task never made it.
    settings.TASKS = working_queue
    settings.OUTBOX_SWEEP_GRACE_SECONDS = 0
    call_command("outbox_sweep", verbosity=0)
    run_worker()

    assert refreshed(submission).status == Status.SENT
    assert len(sandbox.created("storehub")) == 1


# --- exactly one sweep waits --------------------------------------------------------------
def test_the_sweep_keeps_exactly_one_schedule_however_often_it_is_asked(sandbox):
    for _ in range(3):
        submission_create(provider="storehub", data=storehub_data())
    periodic_ensure_scheduled(with_every_claim=True)
    call_command("outbox_sweep", verbosity=0)

    assert waiting_sweeps().count() == 1


def test_a_sweep_scheduled_in_a_transaction_that_rolls_back_is_scheduled_again(sandbox, run_worker):
    from django.db import transaction

    submission = submission_create(provider="storehub", data=storehub_data())
    with pytest.raises(RuntimeError), transaction.atomic():
        submission_forward(submission_id=submission.pk)
        assert waiting_sweeps().count() == 1
        raise RuntimeError("the transaction fails: the forward's claim and the sweep go")
    assert waiting_sweeps().count() == 0

    # Nothing believes a sweep waits: the next piece of work schedules one.
    run_worker()
    assert waiting_sweeps().count() == 1


def test_a_sweep_run_that_fails_leaves_its_successor_scheduled(
    sandbox, run_worker, monkeypatch, settings
):
    settings.OUTBOX_SWEEP_INTERVAL_SECONDS = 0
    periodic_ensure_scheduled(with_every_claim=True)

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away mid-sweep")

    monkeypatch.setattr(recovery, "_recover_expired_leases", broken)
    run_worker(max_tasks=1)

    assert DBTaskResult.objects.filter(task_path=SWEEP_TASK, status="FAILED").count() == 1
    assert waiting_sweeps().count() == 1


def test_a_killed_sweep_is_replaced_and_extra_sweeps_are_removed(sandbox, run_worker, settings):
    settings.OUTBOX_SWEEP_INTERVAL_SECONDS = 0
    periodic_ensure_scheduled(with_every_claim=True)
    # A worker killed while it ran the sweep leaves the task "running" for ever, and nothing
    # waiting. The next piece of work a worker claims (or cron's outbox_sweep) puts one back.
    waiting_sweeps().update(status="RUNNING")
    assert waiting_sweeps().count() == 0
    submission_create(provider="storehub", data=storehub_data())
    run_worker(max_tasks=1)
    assert waiting_sweeps().count() == 1

    # Several sweeps waiting (added by hand, or by a queue restored from a backup): a sweep run
    # brings them back to one.
    for _ in range(3):
        outbox_sweep_task.enqueue()
    assert waiting_sweeps().count() == 4
    run_worker(max_tasks=2)

    assert waiting_sweeps().count() == 1


@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="SQLite serialises every writing transaction"
)
def test_several_workers_asking_at_once_schedule_one_sweep():
    barrier = threading.Barrier(4)

    def ask():
        barrier.wait()
        try:
            periodic_ensure_scheduled(with_every_claim=True)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert waiting_sweeps().count() == 1

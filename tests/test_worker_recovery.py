"""A worker killed in the middle of a call must not lose the submission."""

import signal
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.factories import storehub_data
from tests.workers import start_worker, wait_for
from tickets.models import ErrorClass, ProviderCall, Status, Submission
from tickets.services.intake import submission_create

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_killed_mid_forward_does_not_lose_the_submission(sandbox, settings, tmp_path):
    settings.FORWARD_SWEEP_INTERVAL_SECONDS = 0.5
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
    DBTaskResult.objects.filter(task_path="tickets.tasks.submission_forward").delete()
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Submission.objects.filter(pk=submission.pk).update(
        updated_at=an_hour_ago, next_attempt_at=an_hour_ago
    )

    call_command("outbox_sweep")
    run_worker()

    assert Submission.objects.get(pk=submission.pk).status == Status.SENT
    assert len(sandbox.created("storehub")) == 1

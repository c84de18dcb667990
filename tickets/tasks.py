"""Background tasks: forward a submission, and sweep up forwards that a dead worker left behind.

Django's tasks framework has no retries yet, so a forward that must be tried again is queued
again with ``run_after``; the service decides when.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.tasks import TaskResultStatus, task
from django.utils import timezone

from . import services


@task()
def forward_submission(submission_id: int) -> str:
    submission = services.submission_forward(submission_id=submission_id)
    return submission.status if submission else "nothing to do"


@task()
def sweep_stalled_forwards() -> dict[str, int]:
    counts = services.submission_recover_stalled()
    schedule_sweep()
    return counts


def enqueue_forward(*, submission_id: int, run_after: datetime | None = None) -> None:
    if run_after is not None and run_after > timezone.now():
        forward_submission.using(run_after=run_after).enqueue(submission_id)
    else:
        forward_submission.enqueue(submission_id)


def schedule_sweep() -> None:
    sweep_stalled_forwards.using(
        run_after=timezone.now() + timedelta(seconds=settings.FORWARD_SWEEP_INTERVAL_SECONDS)
    ).enqueue()


def ensure_sweep_scheduled() -> None:
    """Keep one sweep waiting in the queue; the sweep re-schedules itself after each run.

    Called whenever a forward is queued, so a sweep lost with a killed worker comes back.
    """
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(
        task_path=sweep_stalled_forwards.module_path, status=TaskResultStatus.READY
    )
    if not waiting.exists():
        schedule_sweep()

"""Forwarding: claim a submission, call its provider, record the calls, decide the next step.

The only code that changes a submission's delivery status. The delivery guarantee rests on
three rules:
1. a submission is committed before anything is sent, and its forward is queued only on commit;
2. a worker *claims* a submission with one conditional UPDATE and a lease, so two workers never
   send the same submission at once, and a duplicate task finds nothing to claim;
3. a lease that runs out means the worker died mid-call: the sweep puts the submission back in the
   queue, flagged as a possible duplicate, because the call may have reached the provider.
When to try again is the retry policy's answer (``tickets.retry``).
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.tasks import TaskResultStatus
from django.utils import timezone

from tickets.models import (
    PENDING_STATUSES,
    ErrorClass,
    ProviderCall,
    Status,
    Submission,
)
from tickets.providers import (
    ConfigurationError,
    FileUpload,
    ProviderError,
    ProviderTicket,
    TicketRequest,
    get_provider,
)
from tickets.providers.http import Exchange
from tickets.retry import RetryPolicy, next_step
from tickets.tasks import forward_submission as forward_submission_task
from tickets.tasks import sweep_stalled_forwards as sweep_stalled_forwards_task

logger = logging.getLogger(__name__)

# At most this many overdue submissions get a fresh task per sweep, so one sweep stays short.
SWEEP_BATCH = 1000


@dataclass(frozen=True)
class Outcome:
    ticket: ProviderTicket | None
    error_class: str
    message: str
    exchanges: list[Exchange]


# --- one forward --------------------------------------------------------------------------
def submission_forward(*, submission_id: int) -> Submission | None:
    """Send one submission to its provider and move it to its next status.

    Returns ``None`` when there is nothing to do: already sent, claimed by another worker, or
    not yet due.
    """
    if not _claim(submission_id):
        return None
    submission = Submission.objects.get(pk=submission_id)
    outcome = _call_provider(submission)
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=submission_id)
        if submission.status != Status.SENDING and outcome.ticket is None:
            # The lease ran out and the submission moved on without this worker; keep the
            # record of the call, leave the status to whoever owns it now.
            _record_calls(submission, outcome.exchanges, retry_at=None)
            return submission
        submission.forward_count += 1
        _apply_outcome(submission, outcome)
        submission.save()
        _record_calls(submission, outcome.exchanges, retry_at=submission.next_attempt_at)
        if submission.status in PENDING_STATUSES:
            transaction.on_commit(lambda: queue_forward(submission))
    logger.info(
        "submission %s forward: %s -> %s",
        submission.reference,
        outcome.error_class,
        submission.status,
    )
    return submission


def _claim(submission_id: int) -> bool:
    now = timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    claimed = Submission.objects.filter(due, pk=submission_id, status__in=PENDING_STATUSES).update(
        status=Status.SENDING,
        lease_expires_at=now + timedelta(seconds=settings.FORWARD_LEASE_SECONDS),
        updated_at=now,
    )
    return claimed == 1


def _call_provider(submission: Submission) -> Outcome:
    try:
        provider = get_provider(submission.provider)
        ticket = provider.create_ticket(ticket_request_for(submission))
    except (ProviderError, ConfigurationError) as exc:
        return Outcome(None, exc.error_class, exc.message, exc.exchanges)
    except Exception as exc:
        # A bug of ours must not strand the submission in "sending": count it as a forward that
        # may be retried, and keep the traceback in the log (it holds no personal data).
        logger.exception("submission %s: unexpected error while forwarding", submission.reference)
        return Outcome(None, ErrorClass.TRANSIENT, f"Internal error: {type(exc).__name__}", [])
    return Outcome(ticket, ErrorClass.SUCCESS, "", ticket.exchanges)


def ticket_request_for(submission: Submission) -> TicketRequest:
    files = []
    for attachment in submission.attachments.all():
        with attachment.file.open("rb") as handle:
            data = handle.read()
        files.append(
            FileUpload(
                field=attachment.role,
                filename=attachment.original_name,
                content_type=attachment.content_type,
                data=data,
            )
        )
    return TicketRequest(
        reference=submission.reference, fields=submission.customer_data, files=tuple(files)
    )


def _apply_outcome(submission: Submission, outcome: Outcome) -> None:
    now = timezone.now()
    submission.lease_expires_at = None
    submission.last_error_class = outcome.error_class
    submission.last_error = outcome.message
    if outcome.ticket is not None:
        submission.status = Status.SENT
        submission.ticket_id = outcome.ticket.ticket_id
        submission.case_number = outcome.ticket.case_number
        submission.provider_ticket = outcome.ticket.raw
        submission.sent_at = now
        submission.next_attempt_at = None
        submission.last_error = ""
        return
    step = next_step(
        error_class=outcome.error_class,
        forwards_made=submission.forward_count,
        first_forward_at=submission.calls.order_by("started_at")
        .values_list("started_at", flat=True)
        .first(),
        now=now,
        policy=RetryPolicy.from_settings(),
    )
    submission.status = step.status
    submission.next_attempt_at = step.retry_at
    submission.possible_duplicate = submission.possible_duplicate or step.possible_duplicate


def _record_calls(submission: Submission, exchanges: list[Exchange], *, retry_at) -> None:
    calls = [
        ProviderCall(
            submission=submission,
            kind=exchange.kind,
            started_at=exchange.started_at,
            duration_ms=exchange.duration_ms,
            url=exchange.url[:500],
            request=exchange.request,
            http_status=exchange.http_status,
            response=exchange.response,
            error_class=exchange.error_class or submission.last_error_class,
            message=exchange.message,
        )
        for exchange in exchanges
    ]
    if not calls:
        # Nothing went on the wire (e.g. a setting is missing): still leave a trace for staff.
        calls.append(
            ProviderCall(
                submission=submission,
                started_at=timezone.now(),
                duration_ms=0,
                url="",
                request={},
                error_class=submission.last_error_class,
                message=submission.last_error,
            )
        )
    calls[-1].retry_at = retry_at
    ProviderCall.objects.bulk_create(calls)


# --- the queue ----------------------------------------------------------------------------
def queue_forward(submission: Submission) -> None:
    """Queue the forward of ``submission`` for when it is due, and make sure a sweep waits."""
    run_after = submission.next_attempt_at
    if run_after is not None and run_after > timezone.now():
        forward_submission_task.using(run_after=run_after).enqueue(submission.pk)
    else:
        forward_submission_task.enqueue(submission.pk)
    ensure_sweep_scheduled()


def schedule_sweep() -> None:
    sweep_stalled_forwards_task.using(
        run_after=timezone.now() + timedelta(seconds=settings.FORWARD_SWEEP_INTERVAL_SECONDS)
    ).enqueue()


def ensure_sweep_scheduled() -> None:
    """Keep one sweep waiting in the queue; the sweep re-schedules itself after each run.

    Called whenever a forward is queued, so a sweep lost with a killed worker comes back.
    """
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(
        task_path=sweep_stalled_forwards_task.module_path, status=TaskResultStatus.READY
    )
    if not waiting.exists():
        schedule_sweep()


# --- recovery -----------------------------------------------------------------------------
def forwards_sweep() -> dict[str, int]:
    """The sweep task's work: recover stalled forwards, then schedule the next sweep."""
    counts = submission_recover_stalled()
    schedule_sweep()
    return counts


def submission_recover_stalled() -> dict[str, int]:
    """Requeue forwards whose worker died, and re-queue due submissions whose task was lost."""
    now = timezone.now()
    recovered = 0
    for submission_id in Submission.objects.filter(
        status=Status.SENDING, lease_expires_at__lt=now
    ).values_list("pk", flat=True):
        with transaction.atomic():
            submission = Submission.objects.select_for_update().get(pk=submission_id)
            if submission.status != Status.SENDING or submission.lease_expires_at >= now:
                continue
            submission.forward_count += 1
            _apply_outcome(
                submission,
                Outcome(
                    None,
                    ErrorClass.UNKNOWN_OUTCOME,
                    "The worker stopped during the call; the provider may have the ticket.",
                    [],
                ),
            )
            if submission.status == Status.RETRYING:
                submission.next_attempt_at = now  # it has waited out the lease already
            submission.save()
            _record_calls(submission, [], retry_at=submission.next_attempt_at)
            if submission.status in PENDING_STATUSES:
                transaction.on_commit(lambda s=submission: queue_forward(s))
        logger.warning("submission %s: worker lost mid-forward, requeued", submission.reference)
        recovered += 1

    # A task can be lost between a commit and its enqueue (a crash in between); one overdue by
    # more than the grace period gets a fresh task. A duplicate task finds nothing to claim.
    overdue_before = now - timedelta(seconds=settings.FORWARD_SWEEP_GRACE_SECONDS)
    overdue = Submission.objects.filter(status__in=PENDING_STATUSES).filter(
        Q(next_attempt_at__lte=overdue_before)
        | Q(next_attempt_at__isnull=True, updated_at__lte=overdue_before)
    )
    requeued = 0
    for submission in overdue.only("pk", "next_attempt_at")[:SWEEP_BATCH]:
        queue_forward(submission)
        requeued += 1
    return {"recovered": recovered, "requeued": requeued}

"""Forwarding: claim a submission, call its provider, record the calls, decide the next step.

The only code that changes a submission's delivery status. The delivery guarantee rests on
these rules:
1. a submission is committed before anything is sent; its forward is queued in the same
   transaction (the queue being a table of the same database; with another queue, on commit),
   and a queue that fails is caught up by the sweep (nothing depends on a lucky enqueue);
2. a worker *claims* a submission with one conditional UPDATE, a lease and a fresh claim token,
   so two workers never send the same submission at once, and a duplicate task finds nothing;
3. only the holder of the current claim token decides the status. A worker whose lease ran out
   may still finish its call: its result never overwrites; a second ticket is recorded beside
   the first and flagged for staff;
4. a lease that runs out means the worker died mid-call: the sweep puts the submission back in
   the queue, flagged as a possible duplicate, because the call may have reached the provider;
5. leases and due times are on the database's clock (``tickets.clock``), and every call of a
   forward ends within a deadline shorter than the lease.
When to try again is the retry policy's answer (``tickets.retry``).
"""

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Coalesce
from django.tasks import TaskResultStatus
from django.utils import timezone

from tickets import locks
from tickets.clock import database_now, local_time_of
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

from . import notifications
from .queueing import queue_with_transaction, rows_with_a_task_waiting

logger = logging.getLogger(__name__)

# At most this many overdue submissions get a fresh task per sweep, so one sweep stays short.
SWEEP_BATCH = 1000
# Retried fast first, then backed off: the classes where trying again soon may well work.
RETRIED_FAST = (ErrorClass.TRANSIENT, ErrorClass.UNKNOWN_OUTCOME, ErrorClass.TOKEN_EXPIRED)
# Writing a forward's outcome is tried this many times before the error is let through.
FINAL_WRITE_TRIES = 3


@dataclass(frozen=True)
class Outcome:
    ticket: ProviderTicket | None
    error_class: str
    message: str
    exchanges: list[Exchange]
    # What the provider said about waiting (rate limits only).
    retry_after: float | None = None
    not_before: datetime | None = None
    # The call may have created a ticket although it failed (a redirect after the POST).
    may_have_created: bool = False


# --- one forward --------------------------------------------------------------------------
def submission_forward(*, submission_id: int) -> Submission | None:
    """Send one submission to its provider and move it to its next status.

    Returns ``None`` when there is nothing to do: already sent, claimed by another worker, or
    not yet due (then it is queued again for when it is).
    """
    status_before = (
        Submission.objects.filter(pk=submission_id).values_list("status", flat=True).first()
    )
    with transaction.atomic():
        claim_token = _claim(submission_id)
        if claim_token is not None:
            submission = Submission.objects.get(pk=submission_id)
            if submission.forward_count == 0:
                # The customer's receipt is written by the first forward, in its claim's
                # transaction: the web request writes none ("Send" waits for one row less), the
                # e-mail goes out no later (the same workers send it), and a claimed request
                # always has its receipt. Should writing it fail, the claim fails with it.
                notifications.submission_received(submission=submission)
    if claim_token is None:
        _queue_again_if_early(submission_id)
        return None
    outcome = _call_provider(submission)
    if outcome.ticket is not None:
        # Logged before it is written: should the write fail, staff can still match the ticket.
        logger.info(
            "submission %s: the provider created ticket %s",
            submission.reference,
            outcome.ticket.ticket_id,
        )
    for attempt in range(FINAL_WRITE_TRIES):
        try:
            submission = _finish_forward(submission_id, claim_token, status_before, outcome)
            break
        except OperationalError:
            # A locked or briefly unreachable database must not lose what the provider said.
            if attempt == FINAL_WRITE_TRIES - 1:
                raise
            logger.warning("submission %s: writing the outcome failed, again", submission_id)
            time.sleep(0.5 * (attempt + 1))
    logger.info(
        "submission %s forward: %s -> %s",
        submission.reference,
        outcome.error_class,
        submission.status,
    )
    return submission


def _finish_forward(
    submission_id: int, claim_token: uuid.UUID, status_before: str | None, outcome: Outcome
) -> Submission:
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=submission_id)
        if submission.claim_token != claim_token:
            # The lease ran out and the submission moved on without this worker.
            _settle_late_result(submission, outcome)
            return submission
        possible_duplicate_before = submission.possible_duplicate
        submission.forward_count += 1
        _apply_outcome(submission, outcome, now=database_now())
        submission.save()
        _record_calls(submission, outcome.exchanges, retry_at=submission.next_attempt_at)
        notifications.submission_changed(
            submission=submission,
            status_before=status_before,
            possible_duplicate_before=possible_duplicate_before,
        )
        if submission.next_attempt_at is not None and submission.status in PENDING_STATUSES:
            queue_forward_with_transaction(submission)
    return submission


def _claim(submission_id: int) -> uuid.UUID | None:
    """Take the submission for one forward; the claim token proves it is still ours later."""
    now = database_now()
    token = uuid.uuid4()
    claimed = Submission.objects.filter(
        _due(now), pk=submission_id, status__in=PENDING_STATUSES
    ).update(
        status=Status.SENDING,
        claim_token=token,
        lease_expires_at=now + timedelta(seconds=settings.FORWARD_LEASE_SECONDS),
        # The retry budget counts from the first forward since the last resend.
        delivery_started_at=Coalesce(
            F("delivery_started_at"), Value(now, output_field=DateTimeField())
        ),
        updated_at=now,
    )
    return token if claimed == 1 else None


def _due(now: datetime) -> Q:
    """Pending and due. A held submission without a next try waits for staff, not the clock;
    a queued one without a due time (rows older than due times at creation) is due at once."""
    return Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, status=Status.QUEUED)


def _queue_again_if_early(submission_id: int) -> None:
    """A task that ran before its submission was due (clocks differ) is queued for the time,
    unless another task already waits for it: duplicates die here instead of multiplying."""
    waiting = Submission.objects.filter(
        pk=submission_id, status__in=PENDING_STATUSES, next_attempt_at__isnull=False
    ).first()
    if (
        waiting is not None
        and waiting.next_attempt_at > database_now()
        and not _forward_task_waiting(submission_id)
    ):
        queue_forward(waiting)


def _forward_task_waiting(submission_id: int) -> bool:
    return bool(rows_with_a_task_waiting(forward_submission_task, row=submission_id))


def _call_provider(submission: Submission) -> Outcome:
    try:
        provider = get_provider(submission.provider)
        ticket = provider.create_ticket(
            ticket_request_for(submission),
            deadline_seconds=settings.FORWARD_CALL_DEADLINE_SECONDS,
        )
    except (ProviderError, ConfigurationError) as exc:
        return Outcome(
            None,
            exc.error_class,
            exc.message,
            exc.exchanges,
            retry_after=getattr(exc, "retry_after", None),
            not_before=getattr(exc, "not_before", None),
            may_have_created=getattr(exc, "may_have_created", False),
        )
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


def _apply_outcome(submission: Submission, outcome: Outcome, *, now: datetime) -> None:
    submission.lease_expires_at = None
    submission.claim_token = None
    submission.last_error_class = outcome.error_class
    submission.last_error = outcome.message
    if outcome.ticket is not None:
        _store_ticket(submission, outcome.ticket, now=now)
        return
    if outcome.error_class == ErrorClass.RATE_LIMITED:
        submission.rate_limits_in_a_row += 1
    else:
        submission.rate_limits_in_a_row = 0
    if outcome.error_class in RETRIED_FAST:
        submission.failures_in_a_row += 1
    step = next_step(
        error_class=outcome.error_class,
        forwards_made=submission.failures_in_a_row,
        delivery_started_at=submission.delivery_started_at,
        now=now,
        policy=RetryPolicy.from_settings(),
        rate_limits_in_a_row=submission.rate_limits_in_a_row,
        retry_after=outcome.retry_after,
        not_before=outcome.not_before,
    )
    submission.status = step.status
    submission.next_attempt_at = step.retry_at
    submission.possible_duplicate = submission.possible_duplicate or step.possible_duplicate
    if step.status == Status.HELD:
        # Only staff can end this: the time held does not use up the retry budget, and the
        # fast first waits apply again once it is over.
        submission.delivery_started_at = None
        submission.failures_in_a_row = 0
    if outcome.may_have_created:
        # The provider answered a redirect to the ticket POST: it may have created the ticket
        # each time. Held for staff to fix the URL and resend; not retried by itself.
        submission.possible_duplicate = True
        submission.next_attempt_at = None
    if step.budget_exhausted:
        logger.error(
            "submission %s failed: still not delivered after the retry period (%s); last: %s",
            submission.reference,
            timedelta(seconds=settings.FORWARD_RETRY_PERIOD_SECONDS),
            outcome.error_class,
        )


def _store_ticket(submission: Submission, ticket: ProviderTicket, *, now: datetime) -> None:
    submission.status = Status.SENT
    # Bounded by the columns: a provider's overlong id must not make the write fail.
    submission.ticket_id = ticket.ticket_id[:64]
    submission.case_number = ticket.case_number[:64]
    submission.provider_ticket = ticket.raw
    submission.sent_at = now
    submission.next_attempt_at = None
    submission.lease_expires_at = None
    submission.claim_token = None
    submission.rate_limits_in_a_row = 0
    submission.failures_in_a_row = 0
    submission.last_error_class = ErrorClass.SUCCESS
    submission.last_error = ""


def _settle_late_result(submission: Submission, outcome: Outcome) -> None:
    """The result of a worker that lost its claim (its lease ran out during the call).

    It never overwrites what the current owner decided. A failure is only recorded. A ticket is
    a fact at the provider: if the submission has no number yet (nor has been cancelled), it
    is the customer's number; otherwise it is a second ticket, recorded beside the first and
    flagged for staff.
    """
    ticket = outcome.ticket
    if ticket is None:
        _record_calls(submission, outcome.exchanges, retry_at=None)
        logger.info(
            "submission %s: a late %s from a worker that had lost its claim was only recorded",
            submission.reference,
            outcome.error_class,
        )
        return
    status_before, possible_duplicate_before = submission.status, submission.possible_duplicate
    if submission.ticket_id or submission.status == Status.CANCELLED:
        submission.extra_tickets = [
            *submission.extra_tickets,
            {
                "ticket_id": ticket.ticket_id,
                "case_number": ticket.case_number,
                "at": timezone.now().isoformat(),
            },
        ]
        submission.possible_duplicate = True
        submission.save(update_fields=["extra_tickets", "possible_duplicate", "updated_at"])
        logger.warning(
            "submission %s: duplicate ticket at the provider (%s besides %s)",
            submission.reference,
            ticket.ticket_id,
            submission.ticket_id or "a cancelled request",
        )
    else:
        # Whoever holds the submission now will find its claim gone, and its own ticket, if it
        # gets one, will be recorded as the duplicate.
        _store_ticket(submission, ticket, now=database_now())
        submission.save()
        logger.info("submission %s: sent (late answer of an expired claim)", submission.reference)
    _record_calls(submission, outcome.exchanges, retry_at=None)
    notifications.submission_changed(
        submission=submission,
        status_before=status_before,
        possible_duplicate_before=possible_duplicate_before,
    )


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
def enqueue_forward(submission: Submission, *, due_now: bool = False) -> None:
    """Queue the forward for when it is due (raises if the queue refuses).

    ``due_now``: the caller has just made it due (a new request, a resend), so the database's
    clock need not be asked whether it is.
    """
    due = submission.next_attempt_at
    if not due_now and due is not None and due > (now := database_now()):
        forward_submission_task.using(run_after=local_time_of(due, database_time=now)).enqueue(
            submission.pk
        )
    else:
        forward_submission_task.enqueue(submission.pk)
    _ensure_sweep_now_and_then()


def queue_forward_with_transaction(submission: Submission, *, due_now: bool = False) -> None:
    """Queue the forward of a submission the current transaction writes (never raises)."""
    queue_with_transaction(
        lambda: enqueue_forward(submission, due_now=due_now),
        what=f"the forward of {submission.reference}",
    )


def queue_forward(submission: Submission) -> bool:
    """Queue the forward of ``submission`` for when it is due, and make sure a sweep waits.

    Never raises: a queue that cannot be reached must not turn a stored request into an error
    page. The submission stays pending in the database, and the sweep queues it later.
    """
    try:
        enqueue_forward(submission)
    except Exception:
        logger.exception(
            "submission %s: could not queue its forward; the sweep will", submission.reference
        )
        return False
    return True


# When this process last made sure a sweep waits (time.monotonic()). Every queued forward used
# to count the waiting sweeps; once per SWEEP_CHECK_SECONDS per process is enough, since each
# sweep run schedules its successor first and the check only guards against a lost one.
SWEEP_CHECK_SECONDS = 30
_sweep_checked_at = float("-inf")


def _ensure_sweep_now_and_then() -> None:
    if time.monotonic() - _sweep_checked_at >= SWEEP_CHECK_SECONDS:
        ensure_sweep_scheduled()
        # Remembered once committed: a sweep task written in a transaction that then rolls
        # back is gone, and the next queued forward must check again.
        transaction.on_commit(_sweep_checked_now)


def _sweep_checked_now() -> None:
    global _sweep_checked_at
    _sweep_checked_at = time.monotonic()


def forget_sweep_check() -> None:
    """The next queued forward checks the sweep again (tests, and after a setting change)."""
    global _sweep_checked_at
    _sweep_checked_at = float("-inf")


def _waiting_sweeps():
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        task_path=sweep_stalled_forwards_task.module_path, status=TaskResultStatus.READY
    )


def ensure_sweep_scheduled() -> None:
    """Keep exactly one sweep waiting in the queue.

    Called at the start of every sweep run (so a run that fails or is killed has already put its
    successor in place), whenever a forward is queued, and by ``manage.py sweep_forwards``.
    Changes to the schedule are serialised by a lock, so several workers never add two.
    """
    if _waiting_sweeps().count() == 1:
        return
    with transaction.atomic():
        locks.serialise(locks.SWEEP_SCHEDULE)
        waiting = list(_waiting_sweeps().order_by("run_after", "enqueued_at").values_list("pk"))
        if not waiting:
            sweep_stalled_forwards_task.using(
                run_after=timezone.now()
                + timedelta(seconds=settings.FORWARD_SWEEP_INTERVAL_SECONDS)
            ).enqueue()
        elif len(waiting) > 1:
            _waiting_sweeps().filter(pk__in=[pk for (pk,) in waiting[1:]]).delete()


# --- recovery -----------------------------------------------------------------------------
def forwards_sweep() -> dict[str, int]:
    """The sweep task's work: first put the next sweep in place, then recover stalled forwards."""
    ensure_sweep_scheduled()
    return submission_recover_stalled()


def _recover_expired_lease(submission_id: int, *, now: datetime) -> bool:
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=submission_id)
        if submission.status != Status.SENDING or submission.lease_expires_at >= now:
            return False
        possible_duplicate_before = submission.possible_duplicate
        submission.forward_count += 1
        _apply_outcome(
            submission,
            Outcome(
                None,
                ErrorClass.UNKNOWN_OUTCOME,
                "The worker stopped during the call; the provider may have the ticket.",
                [],
            ),
            now=now,
        )
        if submission.status == Status.RETRYING:
            submission.next_attempt_at = now  # it has waited out the lease already
        submission.save()
        _record_calls(submission, [], retry_at=submission.next_attempt_at)
        notifications.submission_changed(
            submission=submission,
            status_before=Status.SENDING,
            possible_duplicate_before=possible_duplicate_before,
        )
        if submission.status in PENDING_STATUSES:
            queue_forward_with_transaction(submission)
    logger.warning("submission %s: worker lost mid-forward, requeued", submission.reference)
    return True


def submission_recover_stalled() -> dict[str, int]:
    """Requeue forwards whose worker died, and re-queue due submissions whose task was lost.

    Oldest requests first, so none waits behind a stream of newer ones.
    """
    now = database_now()
    recovered = 0
    expired = (
        Submission.objects.filter(status=Status.SENDING, lease_expires_at__lt=now)
        .order_by("created_at")
        .values_list("pk", flat=True)
    )
    for submission_id in expired:
        # One row that cannot be recovered (a bug of ours) must not stop the sweep for the rest.
        try:
            if _recover_expired_lease(submission_id, now=now):
                recovered += 1
        except Exception:
            logger.exception("submission %s: could not recover its expired lease", submission_id)

    # A task can be lost between a commit and its enqueue (a crash, a queue that was down); one
    # overdue by more than the grace period gets a fresh task. A duplicate finds nothing to claim.
    overdue_before = now - timedelta(seconds=settings.FORWARD_SWEEP_GRACE_SECONDS)
    overdue = (
        Submission.objects.filter(status__in=PENDING_STATUSES)
        .filter(
            Q(next_attempt_at__lte=overdue_before)
            | Q(next_attempt_at__isnull=True, status=Status.QUEUED, updated_at__lte=overdue_before)
        )
        .order_by("created_at")
    )
    requeued = 0
    waiting = rows_with_a_task_waiting(forward_submission_task)
    for submission in overdue.only("pk", "reference", "next_attempt_at")[:SWEEP_BATCH]:
        # A task still waits for it (a backlog, not a loss): no second one.
        if submission.pk not in waiting and queue_forward(submission):
            requeued += 1
    # E-mails and staff alerts whose task was lost the same way.
    emails = notifications.emails_requeue_lost(
        older_than=timedelta(seconds=settings.FORWARD_SWEEP_GRACE_SECONDS)
    )
    return {"recovered": recovered, "requeued": requeued, "emails_requeued": emails}

"""One forward: claim a submission, call its provider, record the calls, decide the next step.

Forwards are an outbox (``outbox``): a submission is committed before anything is sent, claimed
by one worker at a time, and its outcome is written only by the holder of the claim. A worker
whose lease ran out may still finish its call: its failure is only recorded; its ticket, a fact
at the provider, becomes the customer's number if the request has none yet, and otherwise a
second ticket beside the first, flagged for staff. Every call of a forward ends within
``FORWARD_CALL_DEADLINE_SECONDS``, shorter than the lease. When to try again is the retry
policy's answer (``tickets.delivery.retry``); the status is written by ``submission_move``, and
only there.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.tasks import task

from tickets.delivery import email
from tickets.delivery.database import through_an_outage
from tickets.delivery.outbox import Batch, Outbox
from tickets.delivery.retry import RetryPolicy, next_step
from tickets.models import (
    PENDING_STATUSES,
    ErrorClass,
    ProviderCall,
    Status,
    Submission,
    storable,
)
from tickets.outbound.errors import ProviderTransientError, ProviderUnknownOutcome
from tickets.providers import (
    ConfigurationError,
    FileUpload,
    ProviderError,
    ProviderTicket,
    TicketRequest,
    get_provider,
)

logger = logging.getLogger(__name__)

# Retried fast first, then backed off: the classes where trying again soon may well work.
RETRIED_FAST = (ErrorClass.TRANSIENT, ErrorClass.UNKNOWN_OUTCOME, ErrorClass.TOKEN_EXPIRED)
# How often a forward's outcome is tried while the database answers (a lock held too long).
FINAL_WRITE_TRIES_WHILE_ANSWERING = 3


@task()
def submission_forward_task(submission_id: int) -> str:
    """The queue's way into ``submission_forward``, then ``submission_forward_due``."""
    submission = submission_forward(submission_id=submission_id)
    more = submission_forward_due()
    status = submission.status if submission else "nothing to do"
    return f"{status}, then {more} more forwarded" if more else status


class Forwards(Outbox):
    name = "forwards"
    model = Submission
    task = submission_forward_task

    def owed(self) -> Q:
        return Q(status__in=PENDING_STATUSES)

    def lease_seconds(self) -> float:
        return settings.FORWARD_LEASE_SECONDS

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy.from_settings()

    def watched(self, row: Submission) -> bool:
        return True  # the customer's status page waits for the number

    def claimed(self, row: Submission, *, now: datetime) -> None:
        # The retry budget counts from the first forward since the last resend.
        row.delivery_started_at = row.delivery_started_at or now
        row.claimed_from = row.status
        submission_move(row, to=Status.SENDING, now=now)

    def recover_expired(self, row: Submission, *, now: datetime) -> None:
        lost = ProviderUnknownOutcome(
            "The worker stopped during the call; the provider may have the ticket."
        )
        _record_outcome(row, Outcome(error=lost), now=now, due_at_once=True)
        logger.warning("submission %s: worker lost mid-forward, requeued", row.reference)


FORWARDS = Forwards()


@dataclass(frozen=True)
class Outcome:
    """What one forward came to: a ticket, or the provider's error with its calls."""

    ticket: ProviderTicket | None = None
    error: ProviderError | ConfigurationError | None = None
    exchanges: list = field(default_factory=list)

    @property
    def error_class(self) -> ErrorClass:
        return ErrorClass.SUCCESS if self.error is None else self.error.error_class

    @property
    def message(self) -> str:
        return "" if self.error is None else self.error.message


def submission_forward(*, submission_id: int) -> Submission | None:
    """Send one submission to its provider and move it to its next status.

    Returns ``None`` when there is nothing to do: already sent, claimed by another worker, or
    not yet due (then it is queued again for when it is).
    """
    submission = FORWARDS.claim(submission_id)
    return None if submission is None else _forward_claimed(submission)[0]


def submission_forward_due() -> int:
    """Forward the submissions due longest, a batch (``outbox.Batch``); how many. Each outcome
    is written in one transaction with the next claim: a forward costs one commit (one flush
    to disk, and with SQLite one turn of its single writer) instead of two."""
    batch = Batch()
    submission = FORWARDS.claim_next() if batch.has_room() else None
    while submission is not None:
        batch.taken += 1
        _finished, submission = _forward_claimed(submission, batch=batch)
    return batch.taken


def _forward_claimed(
    submission: Submission, *, batch: Batch | None = None
) -> tuple[Submission, Submission | None]:
    """Forward a claimed submission; the submission as written, and the next one claimed where
    the ``batch`` has room."""
    outcome = _call_provider(submission)
    if outcome.ticket is not None:
        # Logged before it is written: should the write fail, staff can still match the ticket.
        logger.info(
            "submission %s: the provider created ticket %s",
            submission.reference,
            outcome.ticket.ticket_id,
        )
    claim_next = batch is not None and batch.has_room()
    submission, following = _finish_when_the_database_answers(submission, outcome, claim_next)
    logger.info(
        "submission %s forward: %s -> %s",
        submission.reference,
        outcome.error_class,
        submission.status,
    )
    return submission, following


def _finish_when_the_database_answers(
    claimed: Submission, outcome: Outcome, claim_next: bool
) -> tuple[Submission, Submission | None]:
    """Write the outcome, however long the database is away: what the provider said (a ticket
    above all) must not be lost to a restart of the database, or the request would be sent
    again. Fencing makes a late write safe: a claim that ran out meanwhile writes nothing over
    its successor's."""
    return through_an_outage(
        lambda: _finish(claimed, outcome, claim_next),
        what=f"submission {claimed.reference}: writing its outcome ({outcome.error_class})",
        tries_while_answering=FINAL_WRITE_TRIES_WHILE_ANSWERING,
    )


def _finish(
    claimed: Submission, outcome: Outcome, claim_next: bool
) -> tuple[Submission, Submission | None]:
    """Write the outcome of ``claimed``'s forward; with ``claim_next``, claim the next due
    submission in the same transaction."""
    with transaction.atomic():
        submission, held = FORWARDS.held_by(claimed.pk, claimed.claim_token)
        now = submission.read_at
        if held:
            # One forward is one move, from the status it was claimed in: a request held, tried
            # again and held again has not changed for anyone who would be told.
            submission.as_read = (claimed.claimed_from, submission.as_read[1])
            _record_outcome(submission, outcome, now=now)
        else:
            # The lease ran out and the submission moved on without this worker.
            _settle_late_result(submission, outcome, now=now)
        following = _claim_next_beside_an_outcome() if claim_next else None
    return submission, following


def _claim_next_beside_an_outcome() -> Submission | None:
    """The next due submission, claimed in a savepoint of an outcome's transaction: a claim
    that fails ends the batch there, and the outcome still commits."""
    try:
        return FORWARDS.claim_next()
    except DatabaseError:
        logger.exception("the next forward could not be claimed beside an outcome")
        return None


def _call_provider(submission: Submission) -> Outcome:
    try:
        provider = get_provider(submission.provider)
        ticket = provider.create_ticket(
            ticket_request_for(
                submission, takes_files=bool(provider.form_class.upload_field_names())
            ),
            deadline_seconds=settings.FORWARD_CALL_DEADLINE_SECONDS,
        )
    except (ProviderError, ConfigurationError) as exc:
        return Outcome(error=exc, exchanges=exc.exchanges)
    except Exception as exc:
        # A bug of ours must not strand the submission in "sending": count it as a forward that
        # may be retried, and keep the traceback in the log (it holds no personal data).
        logger.exception("submission %s: unexpected error while forwarding", submission.reference)
        return Outcome(error=ProviderTransientError(f"Internal error: {type(exc).__name__}"))
    return Outcome(ticket=ticket, exchanges=ticket.exchanges)


def ticket_request_for(submission: Submission, *, takes_files: bool = True) -> TicketRequest:
    """What the provider is sent for ``submission``; its files are looked for only where its
    form ``takes_files`` (a query per forward saved for a form without any)."""
    files = []
    attachments = submission.attachments.all() if takes_files else ()
    for attachment in attachments:
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


def _record_outcome(
    submission: Submission, outcome: Outcome, *, now: datetime, due_at_once: bool = False
) -> None:
    """Write the outcome of the claim's forward, and move the submission on.

    ``due_at_once``: a retry is due now, not after a wait (the forward's worker died, and its
    lease has been waited out already).
    """
    FORWARDS.release(submission)
    submission.forward_count += 1
    submission.last_error_class = outcome.error_class
    submission.last_error = storable(outcome.message)
    if outcome.ticket is not None:
        to = _store_ticket(submission, outcome.ticket, now=now)
    else:
        to = _after_a_failure(submission, outcome.error, now=now)
        if due_at_once and to == Status.RETRYING:
            submission.next_attempt_at = now
    _record_calls(submission, outcome, retry_at=submission.next_attempt_at, now=now)
    submission_move(submission, to=to, now=now)


def _after_a_failure(
    submission: Submission, error: ProviderError | ConfigurationError, *, now: datetime
) -> Status:
    if error.error_class == ErrorClass.RATE_LIMITED:
        submission.rate_limits_in_a_row += 1
    else:
        submission.rate_limits_in_a_row = 0
    if error.error_class in RETRIED_FAST:
        submission.failures_in_a_row += 1
    step = next_step(
        error_class=error.error_class,
        forwards_made=submission.failures_in_a_row,
        delivery_started_at=submission.delivery_started_at,
        now=now,
        policy=FORWARDS.retry_policy(),
        rate_limits_in_a_row=submission.rate_limits_in_a_row,
        retry_after=error.retry_after,
        not_before=error.not_before,
    )
    submission.next_attempt_at = step.retry_at
    submission.possible_duplicate = submission.possible_duplicate or step.possible_duplicate
    if step.status == Status.HELD:
        # Only staff can end this: the time held does not use up the retry budget, and the
        # fast first waits apply again once it is over.
        submission.delivery_started_at = None
        submission.failures_in_a_row = 0
    if error.may_have_created:
        # The provider answered a redirect to the ticket POST: it may have created the ticket
        # each time. Held for staff to fix the URL and resend; not retried by itself.
        submission.possible_duplicate = True
        submission.next_attempt_at = None
    if step.budget_exhausted:
        logger.error(
            "submission %s failed: still not delivered after the retry period (%s); last: %s",
            submission.reference,
            timedelta(seconds=settings.FORWARD_RETRY_PERIOD_SECONDS),
            error.error_class,
        )
    return step.status


def _store_ticket(submission: Submission, ticket: ProviderTicket, *, now: datetime) -> Status:
    # Bounded by the columns: a provider's overlong id must not make the write fail.
    submission.ticket_id = storable(ticket.ticket_id)[:64]
    submission.case_number = storable(ticket.case_number)[:64]
    submission.provider_ticket = storable(ticket.raw)
    submission.sent_at = now
    submission.next_attempt_at = None
    FORWARDS.release(submission)
    submission.rate_limits_in_a_row = 0
    submission.failures_in_a_row = 0
    submission.last_error_class = ErrorClass.SUCCESS
    submission.last_error = ""
    return Status.SENT


def _settle_late_result(submission: Submission, outcome: Outcome, *, now: datetime) -> None:
    """The result of a worker that lost its claim (its lease ran out during the call).

    It never overwrites what the current owner decided. A failure is only recorded. A ticket is
    a fact at the provider: if the submission has no number yet (nor has been cancelled), it
    is the customer's number; otherwise it is a second ticket, recorded beside the first and
    flagged for staff.
    """
    ticket = outcome.ticket
    if ticket is None:
        _record_calls(submission, outcome, retry_at=None, now=now)
        logger.info(
            "submission %s: a late %s from a worker that had lost its claim was only recorded",
            submission.reference,
            outcome.error_class,
        )
        return
    if submission.ticket_id or submission.status == Status.CANCELLED:
        submission.extra_tickets = [
            *submission.extra_tickets,
            {
                "ticket_id": ticket.ticket_id,
                "case_number": ticket.case_number,
                "at": now.isoformat(),
            },
        ]
        submission.possible_duplicate = True
        to = None
        logger.warning(
            "submission %s: duplicate ticket at the provider (%s besides %s)",
            submission.reference,
            ticket.ticket_id,
            submission.ticket_id or "a cancelled request",
        )
    else:
        # Whoever holds the submission now will find its claim gone, and its own ticket, if it
        # gets one, will be recorded as the duplicate.
        to = _store_ticket(submission, ticket, now=now)
        logger.info("submission %s: sent (late answer of an expired claim)", submission.reference)
    _record_calls(submission, outcome, retry_at=None, now=now)
    submission_move(submission, to=to, now=now)


def _record_calls(
    submission: Submission, outcome: Outcome, *, retry_at: datetime | None, now: datetime
) -> None:
    calls = [
        ProviderCall.of_exchange(
            exchange,
            submission=submission,
            kind=exchange.kind,
            error_class=exchange.error_class or outcome.error_class,
            message=storable(exchange.message),
        )
        for exchange in outcome.exchanges
    ]
    if not calls:
        # Nothing went on the wire (e.g. a setting is missing): still leave a trace for staff.
        calls.append(
            ProviderCall(
                submission=submission,
                started_at=now,
                duration_ms=0,
                url="",
                request={},
                error_class=outcome.error_class,
                message=storable(outcome.message),
            )
        )
    calls[-1].retry_at = retry_at
    ProviderCall.objects.bulk_create(calls)


def forward_when_due(*, submission: Submission, now: datetime) -> None:
    """A submission that is owed a forward and has a due time gets its task for that time."""
    if submission.status in PENDING_STATUSES and submission.next_attempt_at is not None:
        FORWARDS.schedule(submission, now=now)


def submission_move(submission: Submission, *, to: Status | None, now: datetime) -> None:
    """The one place a submission's status is written: save ``submission`` (locked by the
    caller's transaction), moved to status ``to`` unless None, then let whatever must follow the
    change react, with what the row was when it was read: the customer's e-mails and WhatsApp
    messages and staff alerts (``email.submission_moved``), and the next forward of a pending
    submission. Every writer (a claim and its outcome, recovery, staff's resend, cancel and
    duplicate check) comes here; the reactions run inside the caller's transaction, so what
    they write commits with the change or not at all. ``now`` is the database's time."""
    status_before, possible_duplicate_before = submission.as_read
    if to is not None:
        submission.status = to
    submission.save(update_fields=submission.fields_changed())
    submission.as_read = (submission.status, submission.possible_duplicate)
    email.submission_moved(
        submission=submission,
        status_before=status_before,
        possible_duplicate_before=possible_duplicate_before,
        now=now,
    )
    forward_when_due(submission=submission, now=now)

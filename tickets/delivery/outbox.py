"""The outbox: work the portal owes, kept in the database and done by workers.

Forwards (``Submission``), e-mails (``OutgoingEmail``) and WhatsApp messages
(``WhatsAppMessage``) are three outboxes of this one mechanism, the last two alike enough to
share ``MessageOutbox``; an ``Outbox`` says which rows are owed work, what a claim adds, how
long the work may take, when to try again, and what to do with a row whose worker vanished.
The rules:

1. a row is written with its due time (``next_attempt_at``) in the transaction of the change it
   is about, and its task is queued in that same transaction (``scheduling``);
2. a worker *claims* a row that is owed work, due and not leased, under a row lock, with a fresh
   claim token and a lease: of two tasks for one row only one does the work;
3. only the holder of the current claim token writes the outcome (``held_by``); a worker whose
   lease ran out finds its token gone and only reports what happened;
4. a lease that runs out means the worker died mid-work: ``recovery`` hands the row to its
   outbox's ``recover_expired``; a row overdue by ``OUTBOX_SWEEP_GRACE_SECONDS`` with no task
   waiting lost its task, and gets another;
5. due times and leases are on the database's clock (``tickets.delivery.clock``): web processes and
   workers on several machines compare them.
"""

import logging
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.db import connection, models, transaction
from django.db.models import Q
from django.tasks import Task

from tickets.delivery import recipients, scheduling
from tickets.delivery.clock import database_now, database_now_in_query
from tickets.delivery.retry import MessageRetryPolicy

logger = logging.getLogger(__name__)

# The queue's priority of work a person waits for on a page (a ticket number, a code): ahead of
# every other ready task, which nobody is watching.
WATCHED_PRIORITY = 10

# After its own row a task goes on with the next due rows of its outbox, due longest first: in a
# burst one pass through the queue (claim the task, record its end) serves several rows.
# Bounded, so that other work waiting in the queue (an e-mailed access code someone waits for)
# waits at most about this long behind a burst.
BATCH_ROWS = 25
BATCH_SECONDS = 2.0


class Batch:
    """The rows a task goes on with after its own: ``BATCH_ROWS`` at most, within
    ``BATCH_SECONDS``."""

    def __init__(self) -> None:
        self.ends = time.monotonic() + BATCH_SECONDS
        self.taken = 0

    def has_room(self) -> bool:
        return self.taken < BATCH_ROWS and time.monotonic() < self.ends


class Outbox(ABC):
    """One kind of owed work. Subclasses fill in the class attributes and the hooks."""

    name: ClassVar[str]
    model: ClassVar[type[models.Model]]
    # Does one row's work; takes the row's primary key.
    task: ClassVar[Task]

    @abstractmethod
    def owed(self) -> Q:
        """The rows still owed work (due or not, leased or not)."""

    @abstractmethod
    def lease_seconds(self) -> float:
        """How long one row's work may take before its worker is counted as gone."""

    @abstractmethod
    def retry_policy(self) -> Any:
        """The policy object that says when a failed row is tried again."""

    def claimed(self, row: Any, *, now: datetime) -> None:
        """Save a row just claimed, with what a claim adds for this outbox."""
        row.save()

    def refuses(self, row: Any, *, now: datetime) -> bool:
        """Whether a locked row, about to be claimed, is not to be worked on at all; the hook
        writes why, and takes the row out of what is owed."""
        return False

    def watched(self, row: Any) -> bool:
        """Whether a person waits on a page for this row's work (``WATCHED_PRIORITY``)."""
        return False

    @abstractmethod
    def recover_expired(self, row: Any, *, now: datetime) -> None:
        """Decide for a locked row whose lease ran out (its worker died mid-work)."""

    # --- the mechanism -------------------------------------------------------------------
    def claimable(self, now: datetime) -> Q:
        return self.owed() & Q(next_attempt_at__lte=now, lease_expires_at__isnull=True)

    def claim(self, pk: int) -> Any | None:
        """The row, claimed for one piece of work, or None: not owed, refused, claimed, or not
        due (then queued for its time, ``schedule_if_early``).

        Every task's claim first makes sure a sweep waits (``scheduling.periodic``): one that
        was lost comes back with the next piece of work.
        """
        scheduling.periodic_ensure_scheduled(with_every_claim=True)
        row = None
        if self._worth_a_write_transaction(self.model.objects.filter(pk=pk)):
            with transaction.atomic():
                row = self._read_at_now(self.model.objects.select_for_update().filter(pk=pk))
                if row is not None:
                    if self.refuses(row, now=row.read_at):
                        return None
                    self._take(row)
        if row is None:
            self.schedule_if_early(pk)
        return row

    def work_due(self, work: Callable[[Any], Any]) -> int:
        """Do ``work`` on the rows due longest, each claimed once the one before is done
        (``claim_next``), until none is due and free or the ``Batch`` is full: what a task
        goes on with after its own row. Several workers share the due rows: a claim skips those
        another worker is claiming. How many rows it was done on."""
        batch = Batch()
        while batch.has_room() and (row := self.claim_next()) is not None:
            work(row)
            batch.taken += 1
        return batch.taken

    def claim_next(self) -> Any | None:
        """The row due longest, claimed, or None when none is due and free (or a batch's worth
        were refused): the next piece of work for a task that has done its own (a batch). Rows
        other workers are claiming are skipped, not waited for; the claimed row's waiting task
        leaves the queue with the claim, so no second task looks for it."""
        # Rows refused are settled on the way, each in its own transaction (short: with SQLite
        # every transaction holds the one writer the web's posts wait for), a batch's worth at
        # most.
        for _ in range(BATCH_ROWS):
            if not self._worth_a_write_transaction(self.model.objects.all()):
                return None
            with transaction.atomic():
                row = self._read_at_now(
                    self.model.objects.select_for_update(skip_locked=True).order_by(
                        "next_attempt_at", "pk"
                    )
                )
                if row is None:
                    return None
                now = row.read_at
                scheduling.unqueue(self.task, row.pk)
                if self.refuses(row, now=now):
                    continue
                self._take(row)
                return row
        return None

    def _take(self, row: Any) -> None:
        """Claim a locked row read at ``row.read_at``: a fresh claim token and a lease."""
        row.claim_token = uuid.uuid4()
        row.lease_expires_at = row.read_at + timedelta(seconds=self.lease_seconds())
        self.claimed(row, now=row.read_at)

    def held_by(self, pk: int, claim_token: uuid.UUID) -> tuple[Any, bool]:
        """The row, locked (call inside ``atomic``), and whether ``claim_token`` still holds it;
        ``read_at`` on the row is the database's time it was read at."""
        row = self.model.objects.select_for_update().annotate(read_at=database_now_in_query())
        row = row.get(pk=pk)
        return row, row.claim_token == claim_token

    def _worth_a_write_transaction(self, rows: models.QuerySet) -> bool:
        """Whether one of ``rows`` may be claimable now. Without row locks (SQLite) a claim's
        transaction holds the one writer of the whole database, which the web's posts wait
        for: a plain read looks first, so a task that finds nothing to claim (its row done by a
        batch, the end of a batch) takes no turn. With row locks, or inside a transaction that
        holds the writer already (an outcome's), the claim itself looks."""
        if connection.features.has_select_for_update or connection.in_atomic_block:
            return True
        return rows.filter(self.claimable(database_now_in_query())).exists()

    def _read_at_now(self, rows: models.QuerySet) -> Any | None:
        """The first of ``rows`` claimable now, with the database's time it was read at
        (``read_at``), in one query."""
        now = database_now_in_query()
        return rows.filter(self.claimable(now)).annotate(read_at=now).first()

    @staticmethod
    def release(row: Any) -> None:
        """The work on ``row`` is over: the claim ends with its outcome's write."""
        row.claim_token = None
        row.lease_expires_at = None

    def expired(self, now: datetime) -> list[int]:
        """Rows whose worker's lease ran out, oldest first."""
        rows = self.model.objects.filter(lease_expires_at__lt=now).order_by("created_at")
        return list(rows.values_list("pk", flat=True))

    def lost(self, now: datetime, *, grace_seconds: float) -> models.QuerySet:
        """Rows due for longer than the grace period and not claimed: their task may be lost."""
        overdue_before = now - timedelta(seconds=grace_seconds)
        return (
            self.model.objects.filter(self.owed())
            .filter(next_attempt_at__lte=overdue_before, lease_expires_at__isnull=True)
            .order_by("created_at")
        )

    def schedule(self, row: Any, *, now: datetime | None = None) -> None:
        """Queue the work on ``row`` for its due time, with the current transaction."""
        priority = WATCHED_PRIORITY if self.watched(row) else None
        scheduling.schedule(self.task, row.pk, due=row.next_attempt_at, now=now, priority=priority)

    def schedule_if_early(self, pk: int) -> None:
        """A task that found its row not yet due (clocks differ, or a duplicate task) queues it
        for the time, unless another task already waits for it: duplicates die here instead of
        multiplying."""
        now = database_now()
        waiting = (
            self.model.objects.filter(self.owed())
            .filter(pk=pk, next_attempt_at__gt=now, lease_expires_at__isnull=True)
            .first()
        )
        if waiting is not None and not scheduling.rows_with_a_task_waiting(self.task, row=pk):
            self.schedule(waiting, now=now)


class MessageOutbox(Outbox):
    """A message to a person (an ``Message``): each claim counts as a try, and a send
    whose worker died is made again at once (it may have gone: a person may get it twice, but
    never not at all). A message its recipient has not confirmed it wants is withheld, not
    claimed (``recipients``), and sent once the recipient confirms (``withheld_release``)."""

    channel: ClassVar[str]

    def retry_policy(self) -> MessageRetryPolicy:
        return MessageRetryPolicy.from_settings()

    def recipient_address(self, row: Any) -> str:
        """The customer's address or number the message goes to; "" for none (staff)."""
        return row.to

    def refuses(self, row: Any, *, now: datetime) -> bool:
        address = self.recipient_address(row)
        if not address:
            return False
        recipient = recipients.recipient_get(channel=self.channel, address=address, lock=True)
        first_decision = row.recipient_id != recipient.pk
        row.recipient = recipient
        reason = recipients.recipient_withholds(
            recipient=recipient,
            kind=row.kind,
            message_id=row.pk,
            submission_id=row.submission_id,
            now=now,
        )
        if reason:
            row.state, row.next_attempt_at, row.last_error = self.model.State.WITHHELD, None, reason
            if row.kind == self.model.Kind.ACCESS_CODE:
                row.submission.access_codes.sent(channel=self.channel)  # forgotten in clear
        if reason or first_decision:
            row.save(update_fields=["recipient", "state", "next_attempt_at", "last_error"])
        return bool(reason)

    def withheld_release(self, recipient: Any, *, now: datetime) -> int:
        """Queue again what ``recipient``, who has just confirmed, was not sent in the last day
        (with the current transaction); how many."""
        rows = list(
            self.model.objects.select_for_update().filter(
                recipient=recipient,
                state=self.model.State.WITHHELD,
                kind__in=recipients.RELEASED_KINDS,
                created_at__gte=now - recipient.DAY,
            )
        )
        for row in rows:
            row.state, row.next_attempt_at, row.last_error = self.model.State.QUEUED, now, ""
            row.save(update_fields=["state", "next_attempt_at", "last_error"])
            self.schedule(row, now=now)
        if rows:
            logger.info(
                "%s: %d withheld message(s) released by a confirmation", self.name, len(rows)
            )
        return len(rows)

    def watched(self, row: Any) -> bool:
        return row.kind == self.model.Kind.ACCESS_CODE  # typed into "Find my request" next

    def claimed(self, row: Any, *, now: datetime) -> None:
        # Counted when claimed: a send whose worker died counts as a try too.
        row.attempts += 1
        row.save(update_fields=["attempts", "claim_token", "lease_expires_at"])

    def recover_expired(self, row: Any, *, now: datetime) -> None:
        self.release(row)
        row.next_attempt_at = now
        row.save(update_fields=["claim_token", "lease_expires_at", "next_attempt_at"])
        self.schedule(row, now=now)
        logger.warning(
            "%s %s (%s): worker lost mid-send, queued again", self.name, row.pk, row.kind
        )

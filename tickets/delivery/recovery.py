"""The sweep: work a dead worker left behind, and tasks that were lost, in every outbox.

It runs every ``OUTBOX_SWEEP_INTERVAL_SECONDS`` as a task that first puts its successor in
place, and from cron as ``manage.py outbox_sweep``. Oldest rows first, so none waits behind a
stream of newer ones; a row that cannot be recovered (a bug of ours) is logged and the sweep
goes on with the rest.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.tasks import task

from tickets.delivery import email, locks
from tickets.delivery.clock import database_now
from tickets.delivery.forward import FORWARDS
from tickets.delivery.outbox import Outbox
from tickets.delivery.scheduling import (
    periodic,
    periodic_ensure_scheduled,
    rows_with_a_task_waiting,
    schedule,
)
from tickets.delivery.whatsapp import service as whatsapp

logger = logging.getLogger(__name__)

OUTBOXES: tuple[Outbox, ...] = (FORWARDS, email.EMAILS, whatsapp.WHATSAPP_MESSAGES)
# At most this many overdue rows of an outbox get a fresh task per sweep, so one sweep stays short.
SWEEP_BATCH = 1000


@periodic(
    every_seconds=lambda: settings.OUTBOX_SWEEP_INTERVAL_SECONDS,
    lock=locks.SWEEP_SCHEDULE,
    with_every_claim=True,
)
@task()
def outbox_sweep_task() -> dict[str, int]:
    """The queue's way into ``outbox_sweep``."""
    return outbox_sweep()


def outbox_sweep() -> dict[str, int]:
    """Put the next sweep in place, then recover every outbox. Returns counts per outbox:
    ``<outbox>_recovered`` (a worker died mid-work) and ``<outbox>_requeued`` (a task lost)."""
    periodic_ensure_scheduled()
    counts = {}
    for outbox in OUTBOXES:
        counts[f"{outbox.name}_recovered"] = _recover_expired_leases(outbox)
        counts[f"{outbox.name}_requeued"] = _requeue_lost(outbox)
    now = database_now()
    if email.staff_alerts_lost(now=now, grace_seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS):
        schedule(email.staff_alerts_send_task)
    return counts


def _recover_expired_leases(outbox: Outbox) -> int:
    recovered = 0
    for pk in outbox.expired(database_now()):
        try:
            with transaction.atomic():
                row = outbox.model.objects.select_for_update().get(pk=pk)
                now = database_now()
                # Finished, or recovered by another sweep, since it was listed.
                if row.lease_expires_at is None or row.lease_expires_at >= now:
                    continue
                outbox.recover_expired(row, now=now)
            recovered += 1
        except Exception:
            logger.exception("%s %s: could not recover its expired lease", outbox.name, pk)
    return recovered


def _requeue_lost(outbox: Outbox) -> int:
    """A task can be lost between a commit and its enqueue (a crash, a queue that was down): a
    row overdue by more than the grace period gets a fresh task, unless one still waits for it
    (a backlog, not a loss). A duplicate finds nothing to claim."""
    now = database_now()
    lost = outbox.lost(now, grace_seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS)
    waiting = rows_with_a_task_waiting(outbox.task)
    requeued = 0
    for row in lost.only("pk", "next_attempt_at")[:SWEEP_BATCH]:
        if row.pk not in waiting:
            outbox.schedule(row, now=now)
            requeued += 1
    return requeued

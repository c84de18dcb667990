"""The one place a submission's delivery status is written.

Every writer (a worker's claim and outcome, recovery, staff's resend, cancel and duplicate
check) locks the row, changes it, and hands it to ``submission_move``, which saves it and then
sends ``submission_moved`` with what the row was when it was read. Whoever must act on a change
listens to that signal instead of being called by each writer: notifications (the customer's
e-mails, staff alerts) and scheduling (the next forward of a pending submission). The receivers
run inside the transaction that saved the change, so what they write commits with it or not at
all. Which moves are possible is drawn in ``docs/delivery.md``.
"""

from datetime import datetime

from django.dispatch import Signal

from tickets.models import Status, Submission

# Sent with ``submission``, ``status_before``, ``possible_duplicate_before`` and ``now`` (the
# database's time of the change).
submission_moved = Signal()


def submission_move(submission: Submission, *, to: Status | None, now: datetime) -> None:
    """Save ``submission`` (locked by the caller's transaction), moved to status ``to`` unless
    None, and tell whoever listens. ``now`` is the database's time (``tickets.clock``)."""
    status_before, possible_duplicate_before = submission.as_read
    if to is not None:
        submission.status = to
    submission.save()
    submission.as_read = (submission.status, submission.possible_duplicate)
    submission_moved.send(
        sender=Submission,
        submission=submission,
        status_before=status_before,
        possible_duplicate_before=possible_duplicate_before,
        now=now,
    )

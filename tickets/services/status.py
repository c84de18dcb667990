"""The one place a submission's delivery status is written.

Every writer (a worker's claim and outcome, recovery, staff's resend, cancel and duplicate
check) locks the row, changes it, and hands it to ``submission_move``, which saves it and then
lets whatever must follow the change react, with what the row was when it was read: the
notifications (the customer's e-mails, staff alerts) and the next forward of a pending
submission. No writer calls them itself. They run inside the transaction that saved the change,
so what they write commits with it or not at all. Which moves are possible is drawn in
``docs/delivery.md``.
"""

from datetime import datetime

from tickets.models import Status, Submission

# Modules, not names: forward calls submission_move, and this calls forward back.
from . import forward, notifications


def submission_move(submission: Submission, *, to: Status | None, now: datetime) -> None:
    """Save ``submission`` (locked by the caller's transaction), moved to status ``to`` unless
    None, and tell whoever listens. ``now`` is the database's time (``tickets.clock``)."""
    status_before, possible_duplicate_before = submission.as_read
    if to is not None:
        submission.status = to
    submission.save()
    submission.as_read = (submission.status, submission.possible_duplicate)
    notifications.submission_moved(
        submission=submission,
        status_before=status_before,
        possible_duplicate_before=possible_duplicate_before,
        now=now,
    )
    forward.forward_when_due(submission=submission, now=now)

"""Where a submission stands, and the failure class of each call: the words every layer shares.

Kept apart from the models so that the retry policy (``tickets.delivery.retry``) can use them
without touching the database.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    RETRYING = "retrying", _("Waiting to retry")
    HELD = "held", _("Held: provider configuration")
    SENT = "sent", _("Sent")
    REJECTED = "rejected", _("Rejected by provider")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    # Stored in unusual volume without a proof of work, or past the provider's daily budget:
    # not forwarded until staff release it (``tickets.admin.staff.submissions_release``).
    CHECKING = "checking", _("Held for a check")


# Statuses in which a submission is still owed a delivery attempt.
PENDING_STATUSES = (Status.QUEUED, Status.RETRYING, Status.HELD)
# Not delivered yet: pending, or in a worker's hands right now.
UNDELIVERED_STATUSES = (*PENDING_STATUSES, Status.SENDING)
# Nothing happens to these by itself any more (staff may reopen a cancelled one). Rejected and
# failed ones are not final: staff can correct and resend them.
FINAL_STATUSES = (Status.SENT, Status.CANCELLED)
# Waiting for a person (staff, or whoever fixes the provider settings), not for the next
# automatic try: the customer's page asks less often, the staff console asks for attention.
WAITING_ON_STAFF_STATUSES = (Status.FAILED, Status.HELD, Status.REJECTED, Status.CHECKING)
# What staff may send again, correct or cancel: anything not delivered, not on the wire right
# now, and not cancelled (cancelling is final).
RESENDABLE_STATUSES = (*PENDING_STATUSES, Status.FAILED, Status.REJECTED, Status.CHECKING)
# What staff may cancel: those, and one on the wire right now (its worker's answer then counts
# as a late one: only recorded, and a ticket it brings is flagged beside the cancelled request).
CANCELLABLE_STATUSES = (*RESENDABLE_STATUSES, Status.SENDING)
# What staff may release (forward) or discard in bulk: the requests held for a check.
CHECKED_BY_STAFF_STATUSES = (Status.CHECKING,)
# What staff may reopen: a cancelled one, back into the queue.
REOPENABLE_STATUSES = (Status.CANCELLED,)


class ErrorClass(models.TextChoices):
    """The failure classes of docs/delivery.md ("Error classes"), plus success."""

    SUCCESS = "success", _("Success")
    TRANSIENT = "transient", _("Transient")
    RATE_LIMITED = "rate_limited", _("Rate-limited or over quota")
    TOKEN_EXPIRED = "token_expired", _("Token expired")
    CONFIGURATION = "configuration", _("Configuration")
    ACCOUNT = "account", _("Account")
    REJECTED = "rejected", _("Rejected")
    UNKNOWN_OUTCOME = "unknown_outcome", _("Unknown outcome")

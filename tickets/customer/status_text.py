"""Plain words for each status, as the customer reads them on the status page."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from tickets.models import ErrorClass, Status, Submission
from tickets.providers import TicketProvider
from tickets.templatetags.customer_time import customer_time

CUSTOMER_STATUS_TEXT = {
    Status.QUEUED: (
        _("Received"),
        _("We have your request and are passing it to the support team now."),
    ),
    Status.SENDING: (
        _("Sending"),
        _("We are passing your request to the support team right now."),
    ),
    Status.RETRYING: (
        _("Queued"),
        _(
            "The support team's system did not answer yet. Your request is safe with us and "
            "we will keep trying automatically. You do not need to send it again."
        ),
    ),
    Status.HELD: (
        _("Queued"),
        _(
            "Your request is safe with us, but we cannot reach the support team's system at the "
            "moment. Our staff have been alerted and it will be sent as soon as possible."
        ),
    ),
    Status.SENT: (
        _("Ticket created"),
        _("The support team has your request. Quote the ticket number below if you contact them."),
    ),
    Status.REJECTED: (
        _("Being checked"),
        _(
            "The support team's system could not accept your request as it was. Our staff will "
            "correct it and send it again; you do not need to do anything."
        ),
    ),
    Status.FAILED: (
        _("Delayed"),
        _(
            "We could not pass your request on after several tries. It is safe with us and our "
            "staff will follow it up. Please quote your reference if you contact us."
        ),
    ),
    Status.CHECKING: (
        _("Held for a check"),
        _(
            "Your request is stored safely. We are receiving unusually many requests, so our "
            "staff check this one before it is passed to the support team; this can take a few "
            "hours. You do not need to send it again."
        ),
    ),
    Status.CANCELLED: (
        _("Closed"),
        _("This request was closed by our staff. Please contact us if that is unexpected."),
    ),
}


# Held, where no one is alerted (STAFF_ALERT_EMAILS empty): the page says only what is true.
HELD_NOBODY_ALERTED = _(
    "Your request is safe with us, but we cannot reach the support team's system at the "
    "moment. It will be sent as soon as it can be."
)


# Waiting, where the provider said when it takes requests again (a rate limit, OneCloud's quota
# window): the page says until when, in the customer's time zone.
WAITING_UNTIL = _(
    "The support team's system asked us to wait. We will try again at %(time)s. Your request "
    "is safe with us; you do not need to send it again."
)


# Sent, where the provider gave a case number besides its ticket ID (StoreHub): the one to quote.
SENT_WITH_A_CASE_NUMBER = _(
    "The support team has your request. Quote the case number below if you contact them."
)


# The statuses whose text asks the customer to contact us: the page then says how.
CONTACT_US_STATUSES = (Status.FAILED, Status.CANCELLED)


def contact_text(status: str) -> str:
    """How to reach whoever runs the portal, where the status text asks for it ("" otherwise,
    or when ``OPERATOR_CONTACT`` is not set)."""
    if status in CONTACT_US_STATUSES and settings.OPERATOR_CONTACT:
        return _("To reach us: %(contact)s") % {"contact": settings.OPERATOR_CONTACT}
    return ""


def customer_status_text(
    submission: Submission, *, provider: TicketProvider | None = None
) -> tuple[str, str]:
    """The headline and the explanation the customer reads for the request as it is now; times
    in the time zone of ``provider``'s customers."""
    headline, explanation = CUSTOMER_STATUS_TEXT[submission.status]
    if submission.status == Status.HELD and not settings.STAFF_ALERT_EMAILS:
        explanation = HELD_NOBODY_ALERTED
    if submission.status == Status.SENT and submission.case_number:
        explanation = SENT_WITH_A_CASE_NUMBER
    if (
        submission.status == Status.RETRYING
        and submission.last_error_class == ErrorClass.RATE_LIMITED
        and submission.next_attempt_at is not None
    ):
        zone = provider.customer_time_zone if provider is not None else ""
        explanation = WAITING_UNTIL % {"time": customer_time(submission.next_attempt_at, zone)}
    return str(headline), str(explanation)


# What the customer can expect next, once the status above has been read.
WAITING_NEXT_STEP = {
    Status.QUEUED: _(
        "The ticket number appears on this page as soon as the support team's system accepts "
        "your request, usually within a minute. You do not need to wait here: come back to "
        "this page's address at any time."
    ),
    Status.RETRYING: _(
        "The ticket number appears on this page as soon as the support team's system accepts "
        "your request. You do not need to wait here: come back to this page's address at any "
        "time."
    ),
}
WAITING_NEXT_STEP[Status.SENDING] = WAITING_NEXT_STEP[Status.QUEUED]
WAITING_NEXT_STEP[Status.HELD] = WAITING_NEXT_STEP[Status.RETRYING]
WAITING_NEXT_STEP[Status.CHECKING] = WAITING_NEXT_STEP[Status.RETRYING]


def next_step_text(*, status: str, provider: TicketProvider | None) -> str:
    """A sentence on what happens next, or "" when the status text already says it all."""
    if status == Status.SENT:
        return str(provider.sent_next_step) if provider is not None else ""
    return str(WAITING_NEXT_STEP.get(status, ""))

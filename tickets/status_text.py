"""Plain words for each status, as the customer reads them on the status page."""

from django.utils.translation import gettext_lazy as _

from .models import Status

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
    Status.CANCELLED: (
        _("Closed"),
        _("This request was closed by our staff. Please contact us if that is unexpected."),
    ),
}

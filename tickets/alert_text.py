"""Why a request needs a person, as staff read it in an alert e-mail (no customer data)."""

from django.utils.translation import gettext_lazy as _

STAFF_ALERT_REASONS = {
    "held": _("held: the provider refuses the portal's settings or account"),
    "rejected": _("rejected by the provider: correct it and resend"),
    "failed": _("failed: still not delivered when the retry period ended"),
    "possible_duplicate": _(
        "may be duplicated at the provider: check its tickets, then mark the check done"
    ),
}

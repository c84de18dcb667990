"""The documented choices of both forms (CONTRACTS.md), in one place."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# StoreHub's Appointment.State: the 13 states and 3 federal territories. Proper names, so they
# are not translated; how StoreHub spells each is a setting (STOREHUB_STATE_SPELLINGS).
MALAYSIAN_STATES = (
    "Johor",
    "Kedah",
    "Kelantan",
    "Melaka",
    "Negeri Sembilan",
    "Pahang",
    "Pulau Pinang",
    "Perak",
    "Perlis",
    "Sabah",
    "Sarawak",
    "Selangor",
    "Terengganu",
    "Kuala Lumpur",
    "Labuan",
    "Putrajaya",
)
STATE_CHOICES = [(state, state) for state in MALAYSIAN_STATES]


class StoreHubService(models.IntegerChoices):
    """StoreHub's Appointment.ServiceId."""

    IOS_INSTALLATION = 1, _("iOS hardware installation (on-site deployment)")
    PRE_INSTALLATION_INSPECTION = 2, _("Pre-installation inspection")
    VIP_DAY_ONE_SUPPORT = 3, _("Day 1 support for VIP onboarding merchants")
    ONSITE_TROUBLESHOOTING = 18, _("On-site troubleshooting support")
    POS_SWAP = 23, _("POS swap")
    ANDROID_INSTALLATION = 39, _("Android hardware installation (on-site deployment)")


# The default OneCloud categories, so their labels can be translated; the value sent stays the
# configured English word. A category added in settings shows as configured.
KNOWN_CATEGORY_LABELS = {
    "Request": _("Request"),
    "Question": _("Question"),
    "Complaint": _("Complaint"),
    "Problem": _("Problem"),
}


def onecloud_category_choices() -> list[tuple[str, str]]:
    """OneCloud's categories as configured now (settings are read per form, not at import)."""
    return [
        (category, KNOWN_CATEGORY_LABELS.get(category, category))
        for category in settings.ONECLOUD_CATEGORIES
    ]

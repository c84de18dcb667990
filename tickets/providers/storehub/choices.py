"""StoreHub's documented choices (its README.md): states, services and priorities."""

from django.db import models
from django.utils.translation import gettext_lazy as _

# Appointment.State: the 13 states and 3 federal territories. Proper names, so they are not
# translated; how StoreHub spells each is an option (STOREHUB_STATE_SPELLINGS).
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
    """Appointment.ServiceId."""

    IOS_INSTALLATION = 1, _("iOS hardware installation (on-site deployment)")
    PRE_INSTALLATION_INSPECTION = 2, _("Pre-installation inspection")
    VIP_DAY_ONE_SUPPORT = 3, _("Day 1 support for VIP onboarding merchants")
    ONSITE_TROUBLESHOOTING = 18, _("On-site troubleshooting support")
    POS_SWAP = 23, _("POS swap")
    ANDROID_INSTALLATION = 39, _("Android hardware installation (on-site deployment)")


class Priority(models.IntegerChoices):
    """Ticket.Priority."""

    LOW = -1, _("Low")
    NORMAL = 0, _("Normal")
    HIGH = 1, _("High")

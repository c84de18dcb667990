"""Customers who have shown that their address and number are theirs, for the tests about
something else than ``tickets.delivery.recipients`` (rendering, retries, statuses)."""

from django.db import transaction
from django.utils import timezone

from tests.support.factories import CUSTOMER_DATA
from tickets.delivery.recipients import Channel, recipient_confirm

# Numbers the tests type besides the providers' valid requests'.
MORE_PHONES = ("60123456789", "6281234567890", "60198765432")


def confirm(*, email: str = "", phone: str = "") -> None:
    """As if the customer had opened an e-mail's link, and written to the business on WhatsApp."""
    now = timezone.now()
    with transaction.atomic():
        if email:
            recipient_confirm(channel=Channel.EMAIL, address=email, now=now)
        if phone:
            recipient_confirm(channel=Channel.WHATSAPP, address=phone, now=now)


def confirm_the_usual_customers() -> None:
    """Every address and number of the providers' valid requests, and the other usual numbers."""
    for alias in ("onecloud", "storehub"):
        data = CUSTOMER_DATA[alias]()
        confirm(email=data.get("email", ""), phone=data.get("phone", ""))
    for phone in MORE_PHONES:
        confirm(phone=phone)

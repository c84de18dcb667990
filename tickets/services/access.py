"""Find my request: a customer who lost the status link asks with the request's phone number and
reference; a one-time code goes to the request's WhatsApp (when the customer opted in) or its
e-mail, and whoever enters it sees the status page.

Nothing is revealed about whether a number or a reference exists: the page says the same thing
either way, and no code goes anywhere else than where the request itself says. A code is six
digits, valid ``CODE_SECONDS``, used once, and refused after ``MAX_WRONG_TRIES`` wrong ones; a
request gets at most ``CODES_PER_HOUR`` codes, so nobody can flood its customer with them.
"""

import hmac
import logging
import re
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction

from tickets.clock import database_now
from tickets.forms.fields import PhoneNumberField
from tickets.models import AccessCode, OutgoingEmail, Submission, WhatsAppMessage
from tickets.providers import provider_or_none

from . import whatsapp
from .notifications import EMAILS

logger = logging.getLogger(__name__)

CODE_DIGITS = 6
CODE_SECONDS = 600
MAX_WRONG_TRIES = 5
CODES_PER_HOUR = 3
# What a customer types for a reference: "REQ-7EB8RK", "req 7eb8rk", "7EB8RK".
REFERENCE_TYPED = re.compile(r"^(?:REQ)?[\s-]*([A-Z0-9]{6})$")


def access_code_send(*, reference: str, phone: str) -> None:
    """Send a code for the request with this reference and phone number, if there is one and
    it has a way to be reached; do nothing otherwise. Silent either way."""
    submission = _matching(reference, phone)
    if submission is None:
        return
    now = database_now()
    if submission.access_codes.filter(created_at__gte=now - timedelta(hours=1)).count() >= (
        CODES_PER_HOUR
    ):
        logger.warning("submission %s: access codes asked too often", submission.reference)
        return
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    with transaction.atomic():
        sent_by = whatsapp.whatsapp_queue(
            submission, WhatsAppMessage.Kind.ACCESS_CODE, now=now, code=code
        )
        channel = "whatsapp" if sent_by else "email" if submission.email else ""
        if not channel:
            return
        AccessCode.objects.create(
            submission=submission,
            code=code,
            channel=channel,
            expires_at=now + timedelta(seconds=CODE_SECONDS),
        )
        if channel == "email":
            email = OutgoingEmail.objects.create(
                submission=submission,
                kind=OutgoingEmail.Kind.ACCESS_CODE,
                to=submission.email,
                language=submission.language,
                next_attempt_at=now,
            )
            EMAILS.schedule(email, now=now)
    logger.info("submission %s: access code sent by %s", submission.reference, channel)


def access_code_check(*, reference: str, code: str) -> Submission | None:
    """The request the code opens, or None: no such request, no live code, or a wrong one."""
    submission = Submission.objects.filter(reference=normalized_reference(reference)).first()
    if submission is None:
        return None
    now = database_now()
    with transaction.atomic():
        access = (
            submission.access_codes.select_for_update()
            .filter(used_at__isnull=True, expires_at__gt=now, wrong_tries__lt=MAX_WRONG_TRIES)
            .order_by("-created_at")
            .first()
        )
        if access is None:
            return None
        if hmac.compare_digest(access.code.encode(), code.strip().encode()):
            access.used_at = now
            access.save(update_fields=["used_at"])
            return submission
        access.wrong_tries += 1
        access.save(update_fields=["wrong_tries"])
    return None


def access_codes_purge() -> int:
    """Delete codes that have expired (the daily upkeep)."""
    deleted, _ = AccessCode.objects.filter(expires_at__lt=database_now()).delete()
    return deleted


def normalized_reference(typed: str) -> str:
    match = REFERENCE_TYPED.match(typed.strip().upper())
    return f"REQ-{match.group(1)}" if match else ""


def _matching(reference: str, phone: str) -> Submission | None:
    submission = Submission.objects.filter(reference=normalized_reference(reference)).first()
    if submission is None or not submission.phone:
        return None
    # The number as the request's own form would read it ("0812..." is Indonesian on OneCloud's).
    provider = provider_or_none(submission.provider)
    field = provider.form_class.base_fields.get("phone") if provider else None
    region = getattr(field, "region", None)
    try:
        digits = PhoneNumberField(region=region, required=False).clean(phone)
    except ValidationError:
        return None
    if digits and hmac.compare_digest(digits.encode(), submission.phone.encode()):
        return submission
    return None

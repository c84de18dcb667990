"""Find my request: a customer who lost the status link asks with the request's phone number and
reference; a one-time code goes to the request's WhatsApp (when the customer opted in) or its
e-mail, and whoever enters it sees the status page.

Nothing is revealed about whether a number or a reference exists: the page says the same thing
either way, and no code goes anywhere else than where the request itself says. A code is
``CODE_DIGITS`` digits, valid ``AccessCode.LIFETIME_SECONDS``, used once; a new one ends the ones
before it. A request gets at most ``CODES_PER_HOUR`` codes an hour and ``CODES_PER_DAY`` a day
(nobody can flood its customer with them), and takes ``WRONG_TRIES_PER_DAY`` wrong codes a day,
whichever code they were aimed at (nobody can guess one in time).

The code is kept as a keyed hash; in clear only until the message that carries it has gone, so
neither staff pages nor stored calls show it.
"""

import hashlib
import hmac
import logging
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum

from tickets.delivery.clock import database_now
from tickets.delivery.email import EMAILS
from tickets.delivery.whatsapp import service as whatsapp
from tickets.forms.fields import PhoneNumberField
from tickets.models import AccessCode, OutgoingEmail, Submission, WhatsAppMessage
from tickets.providers import provider_or_none

logger = logging.getLogger(__name__)

CODE_DIGITS = 6
CODES_PER_HOUR = 3
CODES_PER_DAY = 6
WRONG_TRIES_PER_DAY = 10
# What a customer types for a reference: "REQ-7EB8RK", "req 7eb8rk", "7EB8RK".
REFERENCE_TYPED = re.compile(r"^(?:REQ)?[\s-]*([A-Z0-9]{6})$")


def access_code_send(*, reference: str, phone: str) -> None:
    """Send a code for the request with this reference and phone number, if there is one, it
    has a way to be reached and has not had its codes for now; do nothing otherwise."""
    submission = _matching(reference, phone)
    if submission is None:
        return
    with transaction.atomic():
        # Locked: two requests for codes at once are counted one after the other.
        submission = Submission.objects.select_for_update().get(pk=submission.pk)
        now = database_now()
        codes = submission.access_codes
        if (
            codes.filter(created_at__gte=now - timedelta(hours=1)).count() >= CODES_PER_HOUR
            or codes.filter(created_at__gte=now - timedelta(days=1)).count() >= CODES_PER_DAY
        ):
            logger.warning("submission %s: access codes asked too often", submission.reference)
            return
        codes.filter(used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        access = AccessCode.objects.create(
            submission=submission,
            code_hash=_hashed(submission, code),
            code_to_send=code,
            channel="whatsapp",
            expires_at=now + timedelta(seconds=AccessCode.LIFETIME_SECONDS),
        )
        if whatsapp.whatsapp_queue(submission, WhatsAppMessage.Kind.ACCESS_CODE, now=now):
            channel = "whatsapp"
        elif submission.email:
            access.channel = channel = "email"
            access.save(update_fields=["channel"])
            email = OutgoingEmail.objects.create(
                submission=submission,
                kind=OutgoingEmail.Kind.ACCESS_CODE,
                to=submission.email,
                language=submission.language,
                next_attempt_at=now,
            )
            EMAILS.schedule(email, now=now)
        else:
            transaction.set_rollback(True)  # no way to reach the request: no code at all
            return
    logger.info("submission %s: access code sent by %s", submission.reference, channel)


def access_code_check(*, reference: str, code: str) -> Submission | None:
    """The request the code opens, or None: no such request, no live code, a wrong code, or
    too many wrong ones today."""
    submission = Submission.objects.filter(reference=normalized_reference(reference)).first()
    if submission is None:
        return None
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=submission.pk)
        now = database_now()
        today = submission.access_codes.filter(created_at__gte=now - timedelta(days=1))
        if (today.aggregate(wrong=Sum("wrong_tries"))["wrong"] or 0) >= WRONG_TRIES_PER_DAY:
            return None
        access = (
            submission.access_codes.filter(used_at__isnull=True, expires_at__gt=now)
            .order_by("-created_at")
            .first()
        )
        if access is None:
            return None
        if hmac.compare_digest(access.code_hash, _hashed(submission, code.strip())):
            access.used_at = now
            access.save(update_fields=["used_at"])
            return submission
        access.wrong_tries += 1
        access.save(update_fields=["wrong_tries"])
    return None


def normalized_reference(typed: str) -> str:
    match = REFERENCE_TYPED.match(typed.strip().upper())
    return f"REQ-{match.group(1)}" if match else ""


def _hashed(submission: Submission, code: str) -> str:
    message = f"access-code:{submission.pk}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


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

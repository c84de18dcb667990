"""Find my request: a customer who lost the status link asks with the request's phone number and
reference; a one-time code goes to the request's WhatsApp (when the customer opted in) or its
e-mail, and the browser that asked sees the status page once it enters the code.

Nothing is revealed about whether a number or a reference exists, not even by the time the page
takes: asking (``access_code_ask``) is the same work whatever was typed, one task queued, and
the worker decides (``access_code_send``). No code goes anywhere else than where the request
itself says. A code is ``CODE_DIGITS`` digits, valid ``AccessCode.LIFETIME_SECONDS``, used
once; a new one ends the ones before it. A request gets at most ``CODES_PER_HOUR`` codes an hour
and ``CODES_PER_DAY`` a day (nobody can flood its customer with them), and an address or number
not confirmed by its owner a code only on a day nothing else went to it, whatever number of
requests name it (``tickets.delivery.recipients``): the page after asking says so to everyone
alike.

A code opens only in the browser that asked for it, and only tries from that browser count:
after ``WRONG_TRIES_PER_CODE`` wrong ones the code is dead (refused even when right), and a
browser takes ``WRONG_TRIES_PER_DAY`` wrong codes a day for a request. A browser that asked for
no live code is refused without counting anything, so whoever knows only a reference cannot use
up the customer's tries. The day's cap is per request *and* browser: per request alone, whoever
knows the reference and the number could ask codes for themselves (they go to the customer) and
spend the customer's day on wrong tries at them. It does not weaken the bound on guessing, which
is the codes' own: ``CODES_PER_DAY`` codes with ``WRONG_TRIES_PER_CODE`` tries each, 30 guesses
a day at a million codes, however many browsers guess. The counts are kept on the codes, which
the daily upkeep keeps for ``AccessCode.COUNTED_FOR`` (the longest window a count looks at).

The code is kept as a keyed hash; in clear only until the message that carries it has gone, so
neither staff pages nor stored calls show it. The number typed never reaches the task queue or
a log: the task carries keyed digests of it as each form reads numbers, and its row forgets them
once it has run.
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
from django.tasks import TaskContext, task

from tickets.delivery.clock import database_now
from tickets.delivery.email import customer_email_queue
from tickets.delivery.outbox import WATCHED_PRIORITY
from tickets.delivery.scheduling import schedule
from tickets.delivery.whatsapp import service as whatsapp
from tickets.forms.fields import PhoneNumberField
from tickets.models import AccessCode, OutgoingEmail, Submission, WhatsAppMessage
from tickets.providers import TicketProvider, enabled_providers, provider_or_none

logger = logging.getLogger(__name__)

CODE_DIGITS = 6
CODES_PER_HOUR = 3
CODES_PER_DAY = 6
WRONG_TRIES_PER_CODE = 5
WRONG_TRIES_PER_DAY = 10
# What a customer types for a reference: "REQ-7EB8RK", "req 7eb8rk", "7EB8RK".
REFERENCE_TYPED = re.compile(r"^(?:REQ)?[\s-]*([A-Z0-9]{6})$")


def access_code_ask(*, reference: str, phone: str, browser_key: str) -> None:
    """Ask for a code for the request with this reference and phone number, from the browser
    whose key is ``browser_key``: one task queued, whatever was typed (no query of the request)."""
    schedule(
        access_code_send_task,
        normalized_reference(reference),
        _phone_digests(phone),
        browser_key,
        priority=WATCHED_PRIORITY,
    )


@task(takes_context=True)
def access_code_send_task(
    context: TaskContext, reference: str, phone_digests: dict[str, str], browser_key: str
) -> None:
    """The queue's way into ``access_code_send``. It returns nothing and its row forgets its
    arguments once it has run: no stored task tells what was typed or whether it matched."""
    try:
        access_code_send(reference=reference, phone_digests=phone_digests, browser_key=browser_key)
    finally:
        _forget_task_arguments(context)


def access_code_send(*, reference: str, phone_digests: dict[str, str], browser_key: str) -> None:
    """Send a code for the request with this reference and phone number (``phone_digests``: as
    ``access_code_ask`` read it), if there is one, it has a way to be reached and has not had
    its codes for now; do nothing otherwise. The code opens in the browser ``browser_key``."""
    submission = _matching(reference, phone_digests)
    if submission is None or not browser_key:
        return
    with transaction.atomic():
        # Locked: two requests for codes at once are counted one after the other.
        submission = Submission.objects.select_for_update().get(pk=submission.pk)
        now = database_now()
        codes = submission.access_codes
        if (
            codes.filter(created_at__gte=now - timedelta(hours=1)).count() >= CODES_PER_HOUR
            or codes.filter(created_at__gte=now - AccessCode.COUNTED_FOR).count() >= CODES_PER_DAY
        ):
            logger.warning("submission %s: access codes asked too often", submission.reference)
            return
        codes.filter(used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        access = AccessCode.objects.create(
            submission=submission,
            code_hash=_hashed(submission, code),
            code_to_send=code,
            browser_key=browser_key,
            channel="whatsapp",
            expires_at=now + timedelta(seconds=AccessCode.LIFETIME_SECONDS),
        )
        if whatsapp.whatsapp_queue(submission, WhatsAppMessage.Kind.ACCESS_CODE, now=now):
            channel = "whatsapp"
        elif submission.email:
            access.channel = channel = "email"
            access.save(update_fields=["channel"])
            customer_email_queue(
                submission=submission, kind=OutgoingEmail.Kind.ACCESS_CODE, now=now
            )
        else:
            transaction.set_rollback(True)  # no way to reach the request: no code at all
            return
    logger.info("submission %s: access code sent by %s", submission.reference, channel)


def access_code_check(*, reference: str, code: str, browser_key: str) -> Submission | None:
    """The request the code opens, or None: no such request, no live code asked from this
    browser, a wrong code, or too many wrong ones (at this code, or from this browser today)."""
    # One query, the same whether or not the reference exists, for a browser with no live code:
    # nothing to count a try against, and another browser's code stays intact.
    asked_here = AccessCode.objects.filter(
        submission__reference=normalized_reference(reference), browser_key=browser_key
    )
    access = asked_here.filter(used_at__isnull=True, expires_at__gt=database_now()).first()
    if access is None or not browser_key:
        return None
    with transaction.atomic():
        # Locked: tries at once are counted one after the other.
        submission = Submission.objects.select_for_update().get(pk=access.submission_id)
        now = database_now()
        access = (
            asked_here.filter(used_at__isnull=True, expires_at__gt=now)
            .order_by("-created_at")
            .first()
        )
        if access is None:
            return None
        today = asked_here.filter(created_at__gte=now - AccessCode.COUNTED_FOR)
        if (
            access.wrong_tries >= WRONG_TRIES_PER_CODE
            or (today.aggregate(wrong=Sum("wrong_tries"))["wrong"] or 0) >= WRONG_TRIES_PER_DAY
        ):
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
    return _keyed(f"access-code:{submission.pk}:{code}")


def _keyed(message: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), message.encode(), hashlib.sha256).hexdigest()


def _region(provider: TicketProvider | None) -> str:
    """The country of a number typed without its code on this provider's form: "0812..." is
    Indonesian on OneCloud's."""
    field = provider.form_class.base_fields.get("phone") if provider else None
    return field.reads_as() if field is not None else settings.PHONE_DEFAULT_REGION


def _phone_digests(phone: str) -> dict[str, str]:
    """``phone`` as each enabled form would read it, keyed-hashed, by region ("" where it is no
    number there): the same work whichever request, if any, it belongs to."""
    regions = {_region(provider) for provider in enabled_providers()}
    digests = {}
    for region in sorted(regions | {settings.PHONE_DEFAULT_REGION}):
        try:
            digits = PhoneNumberField(region=region, required=False).clean(phone)
        except ValidationError:
            digits = ""
        digests[region] = _keyed(f"access-phone:{digits}") if digits else ""
    return digests


def _matching(reference: str, phone_digests: dict[str, str]) -> Submission | None:
    submission = Submission.objects.filter(reference=normalized_reference(reference)).first()
    if submission is None or not submission.phone:
        return None
    typed = phone_digests.get(_region(provider_or_none(submission.provider)), "")
    stored = _keyed(f"access-phone:{submission.phone}")
    if typed and hmac.compare_digest(typed.encode(), stored.encode()):
        return submission
    return None


def _forget_task_arguments(context: TaskContext) -> None:
    """Blank the arguments (what was typed, as digests) in the task's row: the worker writes
    only the outcome after this, and the upkeep prunes the row itself later."""
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(pk=context.task_result.id).update(
        args_kwargs={"args": [], "kwargs": {}}
    )

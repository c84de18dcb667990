"""WhatsApp messages to customers who opted in: queued with the change they tell of, sent by a
task, retried, held or given up by what Meta answered.

A third outbox (``outbox``) beside forwards and e-mails, with the e-mails' pace and budget
(``tickets.delivery.retry.MessageRetryPolicy``), and two rules of its own: a rate limit waits at
least what Meta asked; a configuration or account error (an expired token, 190) holds the message
and tries again every ``OUTBOX_CONFIG_RETRY_SECONDS`` without using up the budget, since only a
person can fix it. A number that is not on WhatsApp, or a template that does not exist, is given up
at once. Every call is kept (``WhatsAppCall``), the access token removed.

A message is written only while WhatsApp is on, for a request whose customer opted in, to a
number that has not opted out; one already queued for a number that opts out meanwhile is not
sent, and one to a number that has not written to the business yet is withheld until it does
(``recipients``). Meta's webhook then reports each message delivered, read, or failed after all
(decided as a failed send would be); any message from a customer confirms their number, and
their STOP opts it out.
"""

import json
import logging
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.tasks import task
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_noop

from tickets.channels import whatsapp_is_on
from tickets.delivery import recipients
from tickets.delivery.clock import database_now
from tickets.delivery.outbox import MessageOutbox
from tickets.delivery.whatsapp.client import CloudApi, failure_for
from tickets.delivery.whatsapp.webhook import Delivery, Reply, Status
from tickets.models import (
    AccessCode,
    Submission,
    WhatsAppCall,
    WhatsAppMessage,
    WhatsAppOptOut,
    storable,
)
from tickets.outbound.errors import ConfigurationError, ProviderRateLimited, ProviderRejected
from tickets.outbound.http import REDACTED
from tickets.providers import provider_label, provider_or_none
from tickets.statuses import ErrorClass

logger = logging.getLogger(__name__)

# Enough for the slowest call (connect and read time-outs) and the bookkeeping around it.
SEND_LEASE_SECONDS = 120


@task()
def whatsapp_send_task(message_id: int) -> str:
    """The queue's way into ``whatsapp_send``, then the messages due (``Outbox.work_due``)."""
    message = whatsapp_send(message_id=message_id)
    more = WHATSAPP_MESSAGES.work_due(_send_claimed)
    state = message.state if message else "nothing to do"
    return f"{state}, then {more} more sent or settled" if more else state


class WhatsAppMessages(MessageOutbox):
    name = "whatsapp"
    model = WhatsAppMessage
    task = whatsapp_send_task
    channel = recipients.Channel.WHATSAPP

    def owed(self) -> Q:
        return Q(state__in=[WhatsAppMessage.State.QUEUED, WhatsAppMessage.State.HELD])

    def lease_seconds(self) -> float:
        timeouts = settings.WHATSAPP["CONNECT_TIMEOUT"] + settings.WHATSAPP["READ_TIMEOUT"]
        return max(SEND_LEASE_SECONDS, 2 * timeouts)


WHATSAPP_MESSAGES = WhatsAppMessages()


# --- queueing ---------------------------------------------------------------------------------
def whatsapp_queue(submission: Submission, kind: str, *, now: datetime) -> WhatsAppMessage | None:
    """Write the message ``kind`` for ``submission`` and queue its send, with the current
    transaction; None when nobody is to be told on WhatsApp."""
    if not whatsapp_would_queue(submission, kind):
        return None
    message = WhatsAppMessage.objects.create(
        submission=submission,
        kind=kind,
        to=submission.phone,
        language=TEMPLATE_LANGUAGES.get(submission.language, "en"),
        template=settings.WHATSAPP["TEMPLATES"][kind],
        parameters=template_parameters(submission, kind),
        next_attempt_at=now,
    )
    WHATSAPP_MESSAGES.schedule(message, now=now)
    return message


def whatsapp_would_queue(submission: Submission, kind: str) -> bool:
    """Whether ``whatsapp_queue`` writes the message ``kind`` for ``submission`` now: WhatsApp
    on, its template named, the customer opted in and their number not opted out."""
    template = settings.WHATSAPP["TEMPLATES"].get(kind)
    if not (whatsapp_is_on() and template and submission.whatsapp_opt_in_at and submission.phone):
        return False
    return not WhatsAppOptOut.objects.stopped(submission.phone)


def template_parameters(submission: Submission, kind: str) -> list[str]:
    """The body's {{1}}, {{2}}... of each template, as docs/operations.md lists them, in the
    request's language. An access code's one is filled in only as it is sent (``access``)."""
    status_url = settings.PORTAL_URL + reverse("tickets:status", args=[submission.public_id])
    if kind == WhatsAppMessage.Kind.RECEIPT:
        provider = provider_or_none(submission.provider)
        with translation.override(submission.language or settings.LANGUAGE_CODE):
            service = str(provider.title) if provider else provider_label(submission.provider)
        return [submission.reference, service, status_url]
    if kind == WhatsAppMessage.Kind.TICKET_NUMBER:
        return [submission.reference, submission.customer_ticket_number, status_url]
    if kind == WhatsAppMessage.Kind.ACCESS_CODE:
        return []
    return [submission.reference, status_url]


# --- sending ----------------------------------------------------------------------------------
# What a send writes back (``attempts`` only as a hold resets it: claims count them).
OUTCOME_FIELDS = [
    "state",
    "wamid",
    "sent_at",
    "next_attempt_at",
    "error_code",
    "last_error",
    "attempts",
    "claim_token",
    "lease_expires_at",
]


def whatsapp_send(*, message_id: int) -> WhatsAppMessage | None:
    """Send one message that is due; record the calls and decide what comes next.

    ``None`` when there is nothing to do: sent, given up, not yet due, or being sent.
    """
    message = WHATSAPP_MESSAGES.claim(message_id)
    return None if message is None else _send_claimed(message)


def _send_claimed(message: WhatsAppMessage) -> WhatsAppMessage:
    message_id, claim_token = message.pk, message.claim_token
    if WhatsAppOptOut.objects.stopped(message.to):
        return _settle(message_id, claim_token, failure=None, unsent=OPTED_OUT)
    parameters, code = message.parameters, None
    if message.kind == WhatsAppMessage.Kind.ACCESS_CODE:
        codes = message.submission.access_codes
        code = codes.to_send(channel="whatsapp", now=database_now())
        if not code:
            unsent = AccessCode.EXPIRED_BEFORE_SENT
            return _settle(message_id, claim_token, failure=None, unsent=unsent)
        parameters = [code]
    exchanges: list = []
    try:
        wamid = CloudApi().send_template(
            to=message.to,
            template=message.template,
            language=message.language,
            parameters=parameters,
            exchanges=exchanges,
            copy_code=code,
        )
    except Exception as exc:
        return _settle(message_id, claim_token, exchanges=exchanges, failure=exc, code=code)
    return _settle(
        message_id, claim_token, exchanges=exchanges, failure=None, wamid=wamid, code=code
    )


# Why a message was not sent at all (shown to staff in their language: ``in_language``).
OPTED_OUT = gettext_noop("Not sent: the customer asked for no more WhatsApp messages.")


def _settle(
    message_id: int,
    claim_token,
    *,
    failure: Exception | None,
    exchanges: list = (),
    wamid: str = "",
    unsent: str = "",
    code: str | None = None,
) -> WhatsAppMessage:
    """Record the calls and write the outcome. ``unsent``: why nothing was sent; ``code``: an
    access code sent, cut out of the stored calls."""
    with transaction.atomic():
        message, held = WHATSAPP_MESSAGES.held_by(message_id, claim_token)
        _record_calls(message, exchanges, failure, hide=code)
        if not held:
            logger.warning("WhatsApp message %s: a late answer only recorded", message.pk)
            return message
        WHATSAPP_MESSAGES.release(message)
        now = database_now()
        state = WhatsAppMessage.State
        if unsent:
            message.state, message.next_attempt_at, message.last_error = state.FAILED, None, unsent
        elif failure is None:
            message.state, message.wamid, message.sent_at = state.SENT, wamid, now
            message.next_attempt_at, message.error_code, message.last_error = None, None, ""
        else:
            _decide_after(message, failure, now=now)
        message.save(update_fields=OUTCOME_FIELDS)
        if message.next_attempt_at is not None:
            WHATSAPP_MESSAGES.schedule(message, now=now)
        elif message.kind == WhatsAppMessage.Kind.ACCESS_CODE:
            message.submission.access_codes.sent(channel="whatsapp")
    logger.info("WhatsApp message %s (%s): %s", message.pk, message.kind, message.state)
    return message


def _without(value, secret: str | None):
    """``value`` (a stored request) with ``secret`` replaced wherever it stands."""
    if not secret:
        return value
    return json.loads(json.dumps(value).replace(secret, REDACTED))


def _decide_after(message: WhatsAppMessage, failure: Exception, *, now: datetime) -> None:
    """A failed send: given up, held, or tried again, by the failure's class."""
    state = WhatsAppMessage.State
    message.error_code = getattr(failure, "meta_code", None)
    message.last_error = storable(str(getattr(failure, "message", "") or failure))[:2000]
    if not hasattr(failure, "error_class"):
        # Not Meta: a bug of ours. Logged, and retried like a transient failure.
        logger.exception("WhatsApp message %s could not be sent", message.pk, exc_info=failure)
    policy = WHATSAPP_MESSAGES.retry_policy()
    if isinstance(failure, ProviderRejected):
        message.state, message.next_attempt_at = state.FAILED, None
    elif isinstance(failure, ConfigurationError):
        # Only a person can fix it: the time held does not use up the budget.
        message.state, message.attempts = state.HELD, 0
        message.next_attempt_at = now + timedelta(seconds=settings.OUTBOX_CONFIG_RETRY_SECONDS)
    elif policy.gives_up(attempts=message.attempts):
        message.state, message.next_attempt_at = state.FAILED, None
    else:
        wait = policy.wait_seconds(attempts=message.attempts)
        if isinstance(failure, ProviderRateLimited) and failure.retry_after:
            wait = max(wait, failure.retry_after)
        message.state, message.next_attempt_at = state.QUEUED, now + timedelta(seconds=wait)


def _record_calls(
    message: WhatsAppMessage, exchanges, failure: Exception | None, *, hide: str | None
) -> None:
    error_class = getattr(failure, "error_class", ErrorClass.SUCCESS if failure is None else "")
    WhatsAppCall.objects.bulk_create(
        WhatsAppCall.of_exchange(
            exchange,
            request=_without(exchange.request, hide),
            message=message,
            error_class=error_class or ErrorClass.TRANSIENT,
            message_text=storable(str(getattr(failure, "message", "") or "") if failure else ""),
        )
        for exchange in exchanges
    )


# --- what Meta's webhook reports -------------------------------------------------------------
# A message moves only forward through these; a status that arrives late changes nothing.
STATUS_ORDER = {"sent": 1, "delivered": 2, "read": 3}
# A customer's reply that opts their number out, or back in, as typed in any of the portal's
# languages. Only the number itself can opt back in: a form ticked with someone's number cannot
# undo their STOP.
OPT_OUT_WORDS = frozenset({"stop", "berhenti", "unsubscribe", "stop whatsapp"})
OPT_IN_WORDS = frozenset({"start", "mula", "mulai"})
# A status this recent, of a message not known (yet), is asked for again rather than dropped.
EARLY_STATUS_SECONDS = 300


def whatsapp_webhook_received(delivery: Delivery) -> Counter[str]:
    """Take in one webhook delivery (already checked as Meta's and read): the statuses of
    messages sent, and customers' replies. Safe to receive twice (Meta retries, a replay changes
    nothing).

    Returns how many statuses ``moved`` a message or were ``ignored``, how many numbers
    ``opted_out``, and how many statuses are ``early``: of a message not known yet, only seconds
    old. Meta can report a message before the worker that sent it has written its ID; the webhook
    then asks Meta to deliver again later.
    """
    counts: Counter[str] = Counter(ignored=delivery.skipped)
    for status in delivery.statuses:
        counts[_status_received(status)] += 1
    for reply in delivery.replies:
        _number_confirmed(reply.phone)
        if _reply_received(reply):
            counts["opted_out"] += 1
    return counts


def _number_confirmed(phone: str) -> None:
    """A message from ``phone`` to the business: the number is its owner's, who wants to hear
    from the business there; what it was not sent in the last day goes."""
    with transaction.atomic():
        now = database_now()
        channel = recipients.Channel.WHATSAPP
        recipient = recipients.recipient_confirm(channel=channel, address=phone, now=now)
        if recipient is not None:
            WHATSAPP_MESSAGES.withheld_release(recipient, now=now)


def _status_received(status: Status) -> str:
    """ "moved", "early" (see above) or "ignored" (someone else's message, old news)."""
    with transaction.atomic():
        message = WhatsAppMessage.objects.select_for_update().filter(wamid=status.wamid).first()
        if message is None:
            recent = (database_now() - status.at).total_seconds() < EARLY_STATUS_SECONDS
            return "early" if recent else "ignored"
        if message.status_at and status.at < message.status_at:
            return "ignored"
        state = WhatsAppMessage.State
        current = STATUS_ORDER.get(message.state)
        if status.name in STATUS_ORDER:
            if current is None or STATUS_ORDER[status.name] <= current:
                return "ignored"
            message.state, message.status_at = status.name, status.at
            message.save(update_fields=["state", "status_at"])
        elif status.name == "failed" and message.state == state.SENT:
            # Meta took it, then could not deliver it: decided as a failed send would be.
            now = database_now()
            _decide_after(message, failure_for(status.error), now=now)
            message.status_at = status.at
            message.save(update_fields=[*OUTCOME_FIELDS, "status_at"])
            if message.next_attempt_at is not None:
                WHATSAPP_MESSAGES.schedule(message, now=now)
        else:
            return "ignored"
    logger.info("WhatsApp message %s (%s): %s", message.pk, message.kind, message.state)
    return "moved"


def _reply_received(reply: Reply) -> bool:
    """A customer's message: STOP (or its Malay and Indonesian word) opts the number out, START
    opts it back in. True when it opted out.

    Each is applied once, and only when it is newer than the reply that last changed the
    number: Meta delivers again what it is not sure of, and not always in order. Meta's times
    are whole seconds; of a STOP and a START in the same second, the STOP wins.
    """
    word = " ".join(reply.text.casefold().strip(" .!").split())
    if word in OPT_OUT_WORDS:
        opts_out = True
    elif word in OPT_IN_WORDS:
        opts_out = False
    else:
        return False
    how = f"replied {reply.text.strip()[:50]!r} on WhatsApp"
    latest = {"opted_out": opts_out, "changed_at": reply.at, "reply_id": reply.wamid}
    with transaction.atomic():
        number, created = WhatsAppOptOut.objects.select_for_update().get_or_create(
            phone=reply.phone, defaults={"how": how, **latest}
        )
        if created:
            # A first START is kept too: a STOP older than it, delivered late, changes nothing.
            changed = opts_out
        elif reply.wamid == number.reply_id or not _is_newer(reply.at, opts_out, number):
            return False
        else:
            # A second STOP changes nothing but still dates the wish, for a START delivered late.
            changed = number.opted_out != opts_out
            number.opted_out, number.changed_at, number.reply_id = opts_out, reply.at, reply.wamid
            number.how = how if changed else number.how
            number.save(update_fields=[*latest, "how"])
    if changed:
        logger.info(
            "a customer's number opted %s WhatsApp updates",
            "out of" if opts_out else "back in to",
        )
    return changed and opts_out


def _is_newer(at: datetime, opts_out: bool, number: WhatsAppOptOut) -> bool:
    """Whether a reply of ``at`` is newer than the one that last changed ``number``."""
    if number.changed_at is None:
        return True
    return at > number.changed_at or (at == number.changed_at and opts_out)


# Meta's names for the portal's languages, in the template's language object.
TEMPLATE_LANGUAGES = {"en": "en", "ms": "ms", "id": "id"}

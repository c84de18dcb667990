"""E-mails: the customer told in their own language, staff told when a request needs a person.
(The same changes reach customers who opted in on WhatsApp too: ``whatsapp``.)

E-mails are an outbox (``outbox``): every e-mail is an ``OutgoingEmail`` row written in the
transaction of the change it tells of (``submission_moved``; the receipt with the first claim of
the request's forward, so the web request writes no e-mail), and sent by a task: never inside a
web request, retried when the mail server fails (``tickets.delivery.retry.MessageRetryPolicy``), and
each one kept for staff to see. A customer's address that its owner has not confirmed hears of
one request a day (``recipients``); the status link in every customer's e-mail confirms it. Staff
alerts carry references, statuses and console links only, never a customer's name, phone or
e-mail; the first goes out at once, later ones are gathered into at most one digest per
``STAFF_ALERT_DIGEST_SECONDS``.
"""

import logging
import re
import smtplib
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.tasks import task
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from tickets.delivery import locks, recipients
from tickets.delivery.clock import database_now
from tickets.delivery.outbox import MessageOutbox
from tickets.delivery.scheduling import schedule
from tickets.delivery.whatsapp import service as whatsapp
from tickets.models import (
    AccessCode,
    OutgoingEmail,
    StaffAlert,
    Status,
    Submission,
    WhatsAppMessage,
)
from tickets.providers import provider_label, provider_or_none

logger = logging.getLogger(__name__)

# Why a request needs a person, as staff read it in an alert e-mail (no customer data).
STAFF_ALERT_REASONS = {
    "held": _("held: the provider refuses the portal's settings or account"),
    "rejected": _("rejected by the provider: correct it and resend"),
    "failed": _("failed: still not delivered when the retry period ended"),
    "possible_duplicate": _(
        "may be duplicated at the provider: check its tickets, then mark the check done"
    ),
    "checking": _(
        "held for a check: unusual volume, or past the daily budget. This alert stands for every "
        "request to this service held in the next hour: release or discard them from the "
        'console\'s list, status "Held for a check"'
    ),
}

# What the customer is told of, by the status a submission has just entered.
CUSTOMER_EMAIL_FOR_STATUS = {
    Status.SENT: OutgoingEmail.Kind.TICKET_NUMBER,
    Status.REJECTED: OutgoingEmail.Kind.REJECTED,
    Status.CANCELLED: OutgoingEmail.Kind.CANCELLED,
}
# What staff are told of, by the status a submission has just entered.
STAFF_ALERT_FOR_STATUS = {
    Status.HELD: StaffAlert.Reason.HELD,
    Status.REJECTED: StaffAlert.Reason.REJECTED,
    Status.FAILED: StaffAlert.Reason.FAILED,
    Status.CHECKING: StaffAlert.Reason.CHECKING,
}
# The status link's parameter that carries ``recipients.status_link_token``.
CONFIRM_PARAMETER = "confirm"
# Requests held for a check come in floods: one alert per provider in this long.
CHECKING_ALERT_EPISODE = timedelta(hours=1)
# The least time one send may take before the sweep counts its worker as gone (see
# Emails.lease_seconds: more with a long EMAIL_TIMEOUT).
SEND_LEASE_SECONDS = 300


@task()
def email_send_task(email_id: int) -> str:
    """The queue's way into ``email_send``, then the messages due (``Outbox.work_due``)."""
    email = email_send(email_id=email_id)
    more = EMAILS.work_due(_send_claimed)
    state = email.state if email else "nothing to do"
    return f"{state}, then {more} more sent or settled" if more else state


@task()
def staff_alerts_send_task() -> str:
    """The queue's way into ``staff_alerts_send``."""
    email = staff_alerts_send()
    return f"alert e-mail {email.pk}" if email else "nothing to send now"


class Emails(MessageOutbox):
    name = "emails"
    model = OutgoingEmail
    task = email_send_task
    channel = recipients.Channel.EMAIL

    def recipient_address(self, row: OutgoingEmail) -> str:
        return "" if row.kind == OutgoingEmail.Kind.STAFF_ALERT else row.to

    def owed(self) -> Q:
        # Both conditions: the first is the partial index's, among the many e-mails sent.
        return ~Q(state=OutgoingEmail.State.SENT) & Q(state=OutgoingEmail.State.QUEUED)

    def lease_seconds(self) -> float:
        """Every step of an SMTP conversation (connect, TLS, log-in, sender, each recipient,
        data, quit) may take the mail server's time-out, and a staff alert has several
        recipients."""
        timeout = settings.MAILERS.get("default", {}).get("OPTIONS", {}).get("timeout") or 20
        return max(SEND_LEASE_SECONDS, (8 + len(settings.STAFF_ALERT_EMAILS)) * timeout)


EMAILS = Emails()


# --- what happened, and who must hear of it ----------------------------------------------
def submission_moved(
    *,
    submission: Submission,
    status_before: str | None,
    possible_duplicate_before: bool,
    now: datetime,
) -> None:
    """Tell whoever must hear of a change (``forward.submission_move`` calls it, inside the
    transaction that saved the change)."""
    if submission.status != status_before:
        if submission.status == Status.SENDING and submission.forward_count == 0:
            _receipt(submission, now=now)
        kind = CUSTOMER_EMAIL_FOR_STATUS.get(submission.status)
        if status_before == Status.CANCELLED:
            # The customer was told it would not be sent: the truth now is that it will be.
            kind = OutgoingEmail.Kind.REOPENED
        # A request held for a check and then discarded was never acknowledged: whoever it
        # names (perhaps someone who never asked) hears nothing of it.
        if kind is not None and status_before != Status.CHECKING:
            customer_email_queue(submission=submission, kind=kind, now=now)
            whatsapp.whatsapp_queue(submission, kind, now=now)
        reason = STAFF_ALERT_FOR_STATUS.get(submission.status)
        if reason is not None:
            _raise_staff_alert(submission, reason)
    if submission.possible_duplicate and not possible_duplicate_before:
        _raise_staff_alert(submission, StaffAlert.Reason.POSSIBLE_DUPLICATE)


def customer_channels(submission: Submission) -> list[str]:
    """The channels a change of ``submission`` is told on (``submission_moved``): "email" when
    the customer gave an address, "whatsapp" when a message would be written for it now."""
    channels = ["email"] if submission.email else []
    if whatsapp.whatsapp_would_queue(submission, WhatsAppMessage.Kind.CANCELLED):
        channels.append("whatsapp")
    return channels


def _receipt(submission: Submission, *, now: datetime) -> None:
    """A new request is on its way (its first forward is claimed): the customer gets a receipt
    with the reference and the link, once (that forward may be cut short and claimed again)."""
    if submission.email and not submission.emails.filter(kind=OutgoingEmail.Kind.RECEIPT).exists():
        customer_email_queue(submission=submission, kind=OutgoingEmail.Kind.RECEIPT, now=now)
    receipt = WhatsAppMessage.Kind.RECEIPT
    if submission.whatsapp_opt_in_at and not submission.whatsapp_messages.filter(kind=receipt):
        whatsapp.whatsapp_queue(submission, receipt, now=now)


def customer_email_queue(
    *, submission: Submission, kind: str, now: datetime
) -> OutgoingEmail | None:
    """Write the e-mail ``kind`` to the request's customer and queue its send, with the current
    transaction; None when the request has no address."""
    if not submission.email:
        return None  # StoreHub's e-mail is optional: nobody to write to.
    email = OutgoingEmail.objects.create(
        submission=submission,
        kind=kind,
        to=submission.email,
        language=submission.language,
        next_attempt_at=now,
    )
    EMAILS.schedule(email, now=now)
    return email


def email_recipient_confirm(*, submission: Submission, token: str) -> bool:
    """The status link of an e-mail to the request's address was opened (``token``: what the
    link carries): the address is its owner's, and what it was not sent in the last day goes.
    False when the token is not the request's."""
    if not recipients.status_link_token_is_valid(submission, token):
        return False
    with transaction.atomic():
        now = database_now()
        channel = recipients.Channel.EMAIL
        recipient = recipients.recipient_confirm(channel=channel, address=submission.email, now=now)
        if recipient is not None:
            EMAILS.withheld_release(recipient, now=now)
    return True


def _raise_staff_alert(submission: Submission, reason: str) -> None:
    if not settings.STAFF_ALERT_EMAILS:
        return
    if reason == StaffAlert.Reason.CHECKING and _checking_alert_raised(submission):
        return
    waiting = StaffAlert.objects.filter(submission=submission, reason=reason, email__isnull=True)
    if not waiting.exists():
        StaffAlert.objects.create(submission=submission, reason=reason)
    schedule(staff_alerts_send_task)


def _checking_alert_raised(submission: Submission) -> bool:
    """Whether staff were alerted to requests to this provider held for a check within the
    episode: a flood makes one alert, not one per request."""
    # Two held at once must not both find none (PostgreSQL; SQLite writes one at a time).
    locks.serialise(locks.CHECKING_ALERT)
    since = database_now() - CHECKING_ALERT_EPISODE
    return StaffAlert.objects.filter(
        reason=StaffAlert.Reason.CHECKING,
        submission__provider=submission.provider,
        created_at__gte=since,
    ).exists()


# --- sending ---------------------------------------------------------------------------------
def email_send(*, email_id: int) -> OutgoingEmail | None:
    """Render and send one e-mail that is due; on a failure, queue the next try.

    Returns ``None`` when there is nothing to do: sent, given up, not yet due, or being sent by
    another worker.
    """
    email = EMAILS.claim(email_id)
    return None if email is None else _send_claimed(email)


def _send_claimed(email: OutgoingEmail) -> OutgoingEmail:
    email_id, claim_token = email.pk, email.claim_token
    try:
        message = _message_for(email)
        subject = message.subject[:300]
        message.send()
    except Exception as exc:
        return _record_failure(email_id, claim_token, exc)
    with transaction.atomic():
        email, held = EMAILS.held_by(email_id, claim_token)
        if not held and email.state != OutgoingEmail.State.QUEUED:
            return email
        # Sent is a fact, whoever holds the e-mail now: a worker sending it again after a lost
        # lease finds its claim gone and writes nothing.
        EMAILS.release(email)
        email.subject = subject
        email.state = OutgoingEmail.State.SENT
        email.sent_at = database_now()
        email.next_attempt_at = None
        email.last_error = ""
        email.save(update_fields=OUTCOME_FIELDS)
        _forget_a_code_sent(email)
    logger.info("e-mail %s (%s) sent", email.pk, email.kind)
    return email


class CodeExpired(Exception):
    """An access code's e-mail found its code expired or replaced before it could go."""


def _forget_a_code_sent(email: OutgoingEmail) -> None:
    if email.kind == OutgoingEmail.Kind.ACCESS_CODE:
        email.submission.access_codes.sent(channel="email")


# What a send writes back: never ``attempts``, which only claims count.
OUTCOME_FIELDS = [
    "subject",
    "state",
    "sent_at",
    "next_attempt_at",
    "last_error",
    "claim_token",
    "lease_expires_at",
]


def address_refused_for_good(exc: Exception) -> bool:
    """The mail server refused every recipient with a permanent (5xx) answer: no such mailbox,
    a mistyped address. Not the server's trouble, and no retry changes it."""
    return (
        isinstance(exc, smtplib.SMTPRecipientsRefused)
        and bool(exc.recipients)
        and all(code >= 500 for code, _message in exc.recipients.values())
    )


def _record_failure(email_id: int, claim_token, exc: Exception) -> OutgoingEmail:
    """Count the failure; retry later, or give up when the policy says so."""
    with transaction.atomic():
        email, held = EMAILS.held_by(email_id, claim_token)
        if not isinstance(exc, smtplib.SMTPException | OSError | CodeExpired):
            # Not the mail server: a bug of ours (a template, the data). Retried all the same,
            # since a fix deployed meanwhile sends it; given up like any other after the last.
            logger.exception("e-mail %s (%s) could not be built or sent", email.pk, email.kind)
        if not held:
            logger.warning("e-mail %s (%s): a late failure only logged", email.pk, email.kind)
            return email
        EMAILS.release(email)
        email.last_error = failure_text(exc)
        policy = EMAILS.retry_policy()
        if isinstance(exc, CodeExpired):
            email.last_error = AccessCode.EXPIRED_BEFORE_SENT
        given_up = policy.gives_up(attempts=email.attempts) or address_refused_for_good(exc)
        if given_up or isinstance(exc, CodeExpired):
            email.state = OutgoingEmail.State.FAILED
            email.next_attempt_at = None
            email.save(update_fields=OUTCOME_FIELDS)
            _forget_a_code_sent(email)
            logger.error("e-mail %s (%s) given up: %s", email.pk, email.kind, email.last_error)
            return email
        now = database_now()
        wait = policy.wait_seconds(attempts=email.attempts)
        # The retry is written with its due time and its task: a retry whose task is lost is
        # overdue, and the sweep gives it another.
        email.next_attempt_at = now + timedelta(seconds=wait)
        email.save(update_fields=OUTCOME_FIELDS)
        EMAILS.schedule(email, now=now)
    logger.warning("e-mail %s (%s) failed, retry in %ss", email.pk, email.kind, wait)
    return email


def _message_for(email: OutgoingEmail) -> EmailMultiAlternatives:
    if email.kind == OutgoingEmail.Kind.STAFF_ALERT:
        context = _staff_alert_context(email)
    else:
        context = _customer_context(email.submission)
        context["confirmed"] = email.recipient is None or email.recipient.confirmed_at is not None
    if email.kind == OutgoingEmail.Kind.ACCESS_CODE:
        codes = email.submission.access_codes
        context["code"] = codes.to_send(channel="email", now=database_now())
        context["code_minutes"] = AccessCode.LIFETIME_SECONDS // 60
        if not context["code"]:
            raise CodeExpired(AccessCode.EXPIRED_BEFORE_SENT)
    with translation.override(email.language):
        context = {**context, "language": email.language}
        subject = " ".join(render_to_string(f"emails/{email.kind}_subject.txt", context).split())
        context["subject"] = subject
        text = render_to_string(f"emails/{email.kind}.txt", context)
        html = render_to_string(f"emails/{email.kind}.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=_recipients(email),
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    return message


def _recipients(email: OutgoingEmail) -> list[str]:
    if email.kind == OutgoingEmail.Kind.STAFF_ALERT:
        return [address.strip() for address in email.to.split(",") if address.strip()]
    # One customer, one address, whatever characters it holds.
    return [email.to]


# Anything shaped like an e-mail address, in what a mail server answered.
ADDRESS = re.compile(r"[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+")


def failure_text(exc: Exception) -> str:
    """What went wrong, for staff and the log: the error's class name first (/healthz tells
    refused addresses by it), then what the server said, with every address taken out (the
    customer's is personal data, and the server echoes it)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        said = "; ".join(
            f"{code} {reply.decode(errors='replace') if isinstance(reply, bytes) else reply}"
            for code, reply in exc.recipients.values()
        )
    else:
        said = str(exc)
    return ADDRESS.sub("<address>", f"{type(exc).__name__}: {said}")[:2000]


def _customer_context(submission: Submission) -> dict:
    provider = provider_or_none(submission.provider)
    return {
        "name": submission.name,
        "reference": submission.reference,
        "service_title": provider.title if provider else provider_label(submission.provider),
        "ticket_number_label": provider.ticket_number_label if provider else "",
        "next_step": provider.sent_next_step if provider else "",
        "ticket_id": submission.ticket_id,
        "case_number": submission.case_number,
        "ticket_number": submission.customer_ticket_number,
        # Shown in the customer's time zone, named (``customer_time``), as the status page does.
        "sent_on": submission.created_at,
        "time_zone": provider.customer_time_zone if provider else "",
        # Opening it confirms the address (``recipients``): only its owner reads the token.
        "status_url": settings.PORTAL_URL
        + reverse("tickets:status", args=[submission.public_id])
        + "?"
        + urlencode({CONFIRM_PARAMETER: recipients.status_link_token(submission)}),
        "form_url": settings.PORTAL_URL + reverse("tickets:form", args=[submission.provider]),
        "privacy_url": settings.PORTAL_URL + reverse("tickets:privacy"),
        "operator_name": settings.OPERATOR_NAME,
    }


def _staff_alert_context(email: OutgoingEmail) -> dict:
    alerts = email.alerts.select_related("submission").order_by("created_at", "id")
    return {
        "alerts": [
            {
                # References, providers, reasons and links: nothing that names the customer.
                "reference": alert.submission.reference,
                "provider": provider_label(alert.submission.provider),
                "reason": STAFF_ALERT_REASONS[alert.reason],
                "admin_url": settings.PORTAL_URL
                + reverse("admin:tickets_submission_change", args=[alert.submission_id]),
            }
            for alert in alerts
        ]
    }


def staff_alerts_send() -> OutgoingEmail | None:
    """Gather waiting alerts into one e-mail, or wait until the digest interval has passed."""
    interval = timedelta(seconds=settings.STAFF_ALERT_DIGEST_SECONDS)
    with transaction.atomic():
        # Two workers running this at once must not both send a digest.
        locks.serialise(locks.STAFF_ALERT_DIGEST)
        waiting = StaffAlert.objects.filter(email__isnull=True)
        if not waiting.exists() or not settings.STAFF_ALERT_EMAILS:
            return None
        last = (
            OutgoingEmail.objects.filter(kind=OutgoingEmail.Kind.STAFF_ALERT)
            .order_by("-created_at")
            .first()
        )
        now = database_now()
        if last is not None and last.created_at + interval > now:
            # Too soon after the last one: these go in the digest when the interval is up.
            schedule(staff_alerts_send_task, due=last.created_at + interval, now=now)
            return None
        email = OutgoingEmail.objects.create(
            kind=OutgoingEmail.Kind.STAFF_ALERT,
            to=",".join(settings.STAFF_ALERT_EMAILS),
            language=settings.LANGUAGE_CODE,
            next_attempt_at=now,
        )
        waiting.update(email=email)
        EMAILS.schedule(email, now=now)
    return email


def staff_alerts_lost(*, now: datetime, grace_seconds: float) -> bool:
    """Alerts waiting longer than the grace period: their task may be lost (the sweep asks)."""
    before = now - timedelta(seconds=grace_seconds)
    return StaffAlert.objects.filter(email__isnull=True, created_at__lt=before).exists()

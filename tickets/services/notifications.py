"""E-mails: the customer told in their own language, staff told when a request needs a person.

Every e-mail is an ``OutgoingEmail`` row written in the same transaction as the change it tells
of (the receipt: the first forward's, so the web request writes no e-mail), and sent by a task
once that transaction commits: never inside a web request, retried when
the mail server fails, and each one kept for staff to see. Staff alerts carry references,
statuses and console links only, never a customer's name, phone or e-mail; the first goes out
at once, later ones are gathered into at most one digest per ``STAFF_ALERT_DIGEST_SECONDS``.
"""

import logging
import smtplib
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from tickets import locks
from tickets.alert_text import STAFF_ALERT_REASONS
from tickets.models import OutgoingEmail, StaffAlert, Status, Submission
from tickets.providers import provider_label, provider_or_none
from tickets.tasks import send_email as send_email_task
from tickets.tasks import send_staff_alerts as send_staff_alerts_task

from .queueing import queue_with_transaction, rows_with_a_task_waiting

logger = logging.getLogger(__name__)

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
}
# The wait before the n-th try of an e-mail whose server failed: 10 s, 30 s, 90 s... 1 h at most.
RETRY_FIRST_SECONDS, RETRY_FACTOR, RETRY_MAX_SECONDS = 10, 3, 3600
# The least time one send may take before the sweep counts its worker as gone (see
# send_lease_seconds: more with a long EMAIL_TIMEOUT).
SEND_LEASE_SECONDS = 300


# --- what happened, and who must hear of it ----------------------------------------------
def submission_received(*, submission: Submission) -> None:
    """A new request is on its way: the customer gets a receipt with the reference and the link,
    once (its first forward may be cut short and run again)."""
    if submission.email and not submission.emails.filter(kind=OutgoingEmail.Kind.RECEIPT).exists():
        _queue_customer_email(submission, OutgoingEmail.Kind.RECEIPT)


def submission_changed(
    *, submission: Submission, status_before: str, possible_duplicate_before: bool
) -> None:
    """Tell whoever must hear of a change: call inside the transaction that saved it."""
    if submission.status != status_before:
        kind = CUSTOMER_EMAIL_FOR_STATUS.get(submission.status)
        if kind is not None:
            _queue_customer_email(submission, kind)
        reason = STAFF_ALERT_FOR_STATUS.get(submission.status)
        if reason is not None:
            _raise_staff_alert(submission, reason)
    if submission.possible_duplicate and not possible_duplicate_before:
        _raise_staff_alert(submission, StaffAlert.Reason.POSSIBLE_DUPLICATE)


def _queue_customer_email(submission: Submission, kind: str) -> None:
    if not submission.email:
        return  # StoreHub's e-mail is optional: nobody to write to.
    email = OutgoingEmail.objects.create(
        submission=submission, kind=kind, to=submission.email, language=submission.language
    )
    queue_with_transaction(lambda: send_email_task.enqueue(email.pk), what=f"e-mail {email.pk}")


def _raise_staff_alert(submission: Submission, reason: str) -> None:
    if not settings.STAFF_ALERT_EMAILS:
        return
    waiting = StaffAlert.objects.filter(submission=submission, reason=reason, email__isnull=True)
    if not waiting.exists():
        StaffAlert.objects.create(submission=submission, reason=reason)
    transaction.on_commit(_enqueue_staff_alerts, robust=True)


def _enqueue_staff_alerts(*, run_after=None) -> None:
    try:
        task = send_staff_alerts_task
        if run_after is not None:
            task = task.using(run_after=run_after)
        task.enqueue()
    except Exception:
        logger.exception("staff alerts: could not queue them; the sweep will")


# --- sending ---------------------------------------------------------------------------------
def email_send(*, email_id: int) -> OutgoingEmail | None:
    """Render and send one e-mail that is due; on a failure, queue the next try."""
    email = OutgoingEmail.objects.filter(pk=email_id, state=OutgoingEmail.State.QUEUED).first()
    if email is None:
        return None  # sent already, or given up
    # The claim: of two tasks for one e-mail (one the sweep added), only one sends it, and only
    # when it is due: never before its retry's time, never during another worker's send. A
    # send under way is due again once it has had time to finish: should its worker die, the
    # sweep finds it overdue then.
    now = timezone.now()
    claimed = (
        OutgoingEmail.objects.filter(
            pk=email.pk, state=OutgoingEmail.State.QUEUED, attempts=email.attempts
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(
            attempts=F("attempts") + 1,
            next_attempt_at=now + timedelta(seconds=send_lease_seconds()),
        )
    )
    if not claimed:
        return None
    email.attempts += 1
    try:
        message = _message_for(email)
        email.subject = message.subject[:300]
        message.send()
    except Exception as exc:
        _record_failed_attempt(email, exc)
        return email
    email.state = OutgoingEmail.State.SENT
    email.sent_at = timezone.now()
    email.next_attempt_at = None
    email.last_error = ""
    email.save(update_fields=OUTCOME_FIELDS)
    logger.info("e-mail %s (%s) sent", email.pk, email.kind)
    return email


# What a send writes back: never ``attempts``, which only claims count.
OUTCOME_FIELDS = ["subject", "state", "sent_at", "next_attempt_at", "last_error"]


def send_lease_seconds() -> float:
    """How long one send may take before the sweep counts its worker as gone: every step of an
    SMTP conversation (connect, TLS, log-in, sender, each recipient, data, quit) may take the
    mail server's time-out, and a staff alert has several recipients."""
    timeout = settings.MAILERS.get("default", {}).get("OPTIONS", {}).get("timeout") or 20
    return max(SEND_LEASE_SECONDS, (8 + len(settings.STAFF_ALERT_EMAILS)) * timeout)


def address_refused_for_good(exc: Exception) -> bool:
    """The mail server refused every recipient with a permanent (5xx) answer: no such mailbox,
    a mistyped address. Not the server's trouble, and no retry changes it."""
    return (
        isinstance(exc, smtplib.SMTPRecipientsRefused)
        and bool(exc.recipients)
        and all(code >= 500 for code, _message in exc.recipients.values())
    )


def _record_failed_attempt(email: OutgoingEmail, exc: Exception) -> None:
    """Count the failure; retry later, or give up after ``EMAIL_MAX_ATTEMPTS``."""
    if not isinstance(exc, smtplib.SMTPException | OSError):
        # Not the mail server: a bug of ours (a template, the data). Retried all the same, since
        # a fix deployed meanwhile sends it; given up like any other after the last attempt.
        logger.exception("e-mail %s (%s) could not be built or sent", email.pk, email.kind)
    # Begins with the error's class name: /healthz tells refused addresses by it.
    email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if email.attempts >= settings.EMAIL_MAX_ATTEMPTS or address_refused_for_good(exc):
        email.state = OutgoingEmail.State.FAILED
        email.next_attempt_at = None
        logger.error("e-mail %s (%s) given up: %s", email.pk, email.kind, email.last_error)
        email.save(update_fields=OUTCOME_FIELDS)
        return
    wait = min(RETRY_FIRST_SECONDS * RETRY_FACTOR ** min(email.attempts - 1, 20), RETRY_MAX_SECONDS)
    email.next_attempt_at = timezone.now() + timedelta(seconds=wait)
    with transaction.atomic():
        # The retry is written with its due time and its task: a retry whose task is lost is
        # overdue, and the sweep gives it another.
        email.save(update_fields=OUTCOME_FIELDS)
        queue_with_transaction(
            lambda: send_email_task.using(run_after=email.next_attempt_at).enqueue(email.pk),
            what=f"the retry of e-mail {email.pk}",
        )
    logger.warning("e-mail %s (%s) failed, retry in %ss", email.pk, email.kind, wait)


def _message_for(email: OutgoingEmail) -> EmailMultiAlternatives:
    if email.kind == OutgoingEmail.Kind.STAFF_ALERT:
        context = _staff_alert_context(email)
    else:
        context = _customer_context(email.submission)
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
        to=[address.strip() for address in email.to.split(",") if address.strip()],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    return message


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
        "status_url": settings.PORTAL_URL + reverse("tickets:status", args=[submission.public_id]),
        "form_url": settings.PORTAL_URL + reverse("tickets:form", args=[submission.provider]),
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
        now = timezone.now()
        if last is not None and last.created_at + interval > now:
            # Too soon after the last one: these go in the digest when the interval is up.
            transaction.on_commit(
                lambda: _enqueue_staff_alerts(run_after=last.created_at + interval), robust=True
            )
            return None
        email = OutgoingEmail.objects.create(
            kind=OutgoingEmail.Kind.STAFF_ALERT,
            to=",".join(settings.STAFF_ALERT_EMAILS),
            language=settings.LANGUAGE_CODE,
        )
        waiting.update(email=email)
        queue_with_transaction(
            lambda: send_email_task.enqueue(email.pk), what=f"staff alert e-mail {email.pk}"
        )
    return email


def emails_requeue_lost(*, older_than: timedelta) -> int:
    """Queue again e-mails and alerts whose task was lost (called by the forwarding sweep).

    An e-mail is lost when it is overdue by ``older_than`` and no task waits for it: never tried
    and written that long ago, a retry due that long ago, or a send whose worker died.
    """
    before = timezone.now() - older_than
    requeued = 0
    overdue = (
        OutgoingEmail.objects.exclude(state=OutgoingEmail.State.SENT)  # the partial index's rows
        .filter(state=OutgoingEmail.State.QUEUED)
        .filter(
            Q(next_attempt_at__lt=before) | Q(next_attempt_at__isnull=True, created_at__lt=before)
        )
    )
    waiting = rows_with_a_task_waiting(send_email_task)
    for email_id in overdue.order_by("created_at").values_list("pk", flat=True)[:500]:
        if email_id not in waiting:
            queue_with_transaction(
                lambda email_id=email_id: send_email_task.enqueue(email_id),
                what=f"e-mail {email_id}",
            )
            requeued += 1
    if StaffAlert.objects.filter(email__isnull=True, created_at__lt=before).exists():
        _enqueue_staff_alerts()
    return requeued

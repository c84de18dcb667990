"""Every change to a Submission's status happens here.

The delivery guarantee rests on three rules:
1. a submission is committed before anything is sent, and its forward is queued only on commit;
2. a worker *claims* a submission with one conditional UPDATE and a lease, so two workers never
   send the same submission at once, and a duplicate task finds nothing to claim;
3. a lease that runs out means the worker died mid-call: the sweep puts the submission back in the
   queue, flagged as a possible duplicate, because the call may have reached the provider.
"""

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .models import (
    PENDING_STATUSES,
    UNDELIVERED_STATUSES,
    Attachment,
    Attempt,
    Correction,
    ErrorClass,
    Provider,
    Status,
    Submission,
    new_reference,
)
from .providers import ConfigurationError, ProviderError, TicketRequest, get_provider
from .providers.base import FileUpload, ProviderTicket
from .providers.http import Exchange

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

logger = logging.getLogger(__name__)

REQUIRED_FIELDS = {
    Provider.ONECLOUD: ("name", "email", "subject", "category", "content"),
    Provider.STOREHUB: (
        "name",
        "phone",
        "issue",
        "priority",
        "receive_sms",
        "address",
        "state",
        "service_id",
        "latitude",
        "longitude",
    ),
}
CUSTOMER_FIELDS = {
    Provider.ONECLOUD: REQUIRED_FIELDS[Provider.ONECLOUD] + ("latitude", "longitude"),
    Provider.STOREHUB: REQUIRED_FIELDS[Provider.STOREHUB]
    + ("email", "remark", "store_name", "dealer_reseller"),
}
FILE_ROLES = {Provider.ONECLOUD: (Attachment.Role.ATTACHMENT, Attachment.Role.FILE)}


# --- creating -----------------------------------------------------------------------------
def submission_create(
    *,
    provider: str,
    data: dict,
    files: dict[str, UploadedFile] | None = None,
    form_token: uuid.UUID | None = None,
) -> Submission:
    """Store a customer's request and queue its forwarding once the row is committed.

    With a ``form_token`` the call is idempotent: the same token returns the submission it
    created the first time, so a form sent twice is stored and forwarded once.
    """
    if form_token is not None:
        existing = Submission.objects.filter(form_token=form_token).first()
        if existing is not None:
            return existing
    if provider not in Provider.values or provider not in settings.ENABLED_PROVIDERS:
        raise ValidationError(f"Unknown or disabled provider {provider!r}.")
    allowed = CUSTOMER_FIELDS[Provider(provider)]
    unexpected = set(data) - set(allowed)
    if unexpected:
        raise ValidationError(f"Fields not used by {provider}: {', '.join(sorted(unexpected))}.")
    missing = [f for f in REQUIRED_FIELDS[Provider(provider)] if data.get(f) in (None, "")]
    if missing:
        raise ValidationError(f"Missing required fields: {', '.join(missing)}.")
    if (data.get("latitude") is None) != (data.get("longitude") is None):
        raise ValidationError("Give both latitude and longitude, or neither.")
    files = {role: upload for role, upload in (files or {}).items() if upload}
    unknown_roles = set(files) - set(FILE_ROLES.get(Provider(provider), ()))
    if unknown_roles:
        raise ValidationError(f"{provider} takes no file named {', '.join(sorted(unknown_roles))}.")

    submission = Submission(provider=provider, status=Status.QUEUED, form_token=form_token, **data)
    submission.full_clean(validate_unique=False)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                submission.save()
                _store_files(submission, files)
                transaction.on_commit(lambda: _queue_forward(submission))
            break
        except IntegrityError:
            # Either two copies of one form raced past the lookup above (the first one won),
            # or the random reference collided with another (1 in ~700 million): draw again.
            if form_token is not None:
                existing = Submission.objects.filter(form_token=form_token).first()
                if existing is not None:
                    return existing
            submission.pk = None
            submission.reference = new_reference()
    else:
        raise IntegrityError("Could not store the submission after three tries.")
    logger.info("submission %s created for %s", submission.reference, provider)
    return submission


def _store_files(submission: Submission, files: dict[str, UploadedFile]) -> None:
    for role, upload in files.items():
        upload.seek(0)
        Attachment.objects.create(
            submission=submission,
            role=role,
            file=upload,
            original_name=upload.name[:255],
            content_type=upload.content_type or "application/octet-stream",
            size=upload.size,
        )


# --- forwarding ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    ticket: ProviderTicket | None
    error_class: str
    message: str
    exchanges: list[Exchange]


def submission_forward(*, submission_id: int) -> Submission | None:
    """Send one submission to its provider and move it to its next status.

    Returns ``None`` when there is nothing to do: already sent, claimed by another worker, or
    not yet due.
    """
    if not _claim(submission_id):
        return None
    submission = Submission.objects.get(pk=submission_id)
    outcome = _call_provider(submission)
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=submission_id)
        if submission.status != Status.SENDING and outcome.ticket is None:
            # The lease ran out and the submission moved on without this worker; keep the
            # record of the call, leave the status to whoever owns it now.
            _record_exchanges(submission, outcome.exchanges, retry_at=None)
            return submission
        submission.attempt_count += 1
        _apply_outcome(submission, outcome)
        submission.save()
        _record_exchanges(submission, outcome.exchanges, retry_at=submission.next_attempt_at)
        if submission.status in PENDING_STATUSES:
            transaction.on_commit(lambda: _queue_forward(submission))
    logger.info(
        "submission %s forward: %s -> %s",
        submission.reference,
        outcome.error_class,
        submission.status,
    )
    return submission


def _claim(submission_id: int) -> bool:
    now = timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    claimed = Submission.objects.filter(due, pk=submission_id, status__in=PENDING_STATUSES).update(
        status=Status.SENDING,
        lease_expires_at=now + timedelta(seconds=settings.FORWARD_LEASE_SECONDS),
        updated_at=now,
    )
    return claimed == 1


def _call_provider(submission: Submission) -> Outcome:
    try:
        ticket = get_provider(submission.provider).create_ticket(ticket_request_for(submission))
    except (ProviderError, ConfigurationError) as exc:
        return Outcome(None, exc.error_class, exc.message, exc.exchanges)
    except Exception as exc:
        # A bug of ours must not strand the submission in "sending": count it as an attempt that
        # may be retried, and keep the traceback in the log (it holds no personal data).
        logger.exception("submission %s: unexpected error while forwarding", submission.reference)
        return Outcome(None, ErrorClass.TRANSIENT, f"Internal error: {type(exc).__name__}", [])
    return Outcome(ticket, ErrorClass.SUCCESS, "", ticket.exchanges)


def ticket_request_for(submission: Submission) -> TicketRequest:
    files = []
    for attachment in submission.attachments.all():
        with attachment.file.open("rb") as handle:
            data = handle.read()
        files.append(
            FileUpload(
                field=attachment.role,
                filename=attachment.original_name,
                content_type=attachment.content_type,
                data=data,
            )
        )
    return TicketRequest(
        reference=submission.reference,
        name=submission.name,
        email=submission.email,
        latitude=submission.latitude,
        longitude=submission.longitude,
        subject=submission.subject,
        category=submission.category,
        content=submission.content,
        files=tuple(files),
        phone=submission.phone,
        issue=submission.issue,
        priority=submission.priority,
        receive_sms=submission.receive_sms,
        remark=submission.remark,
        store_name=submission.store_name,
        dealer_reseller=submission.dealer_reseller,
        address=submission.address,
        state=submission.state,
        service_id=submission.service_id,
    )


def _apply_outcome(submission: Submission, outcome: Outcome) -> None:
    now = timezone.now()
    submission.lease_expires_at = None
    submission.last_error_class = outcome.error_class
    submission.last_error = outcome.message
    if outcome.ticket is not None:
        submission.status = Status.SENT
        submission.ticket_id = outcome.ticket.ticket_id
        submission.case_number = outcome.ticket.case_number
        submission.provider_ticket = outcome.ticket.raw
        submission.sent_at = now
        submission.next_attempt_at = None
        submission.last_error = ""
        return
    if outcome.error_class == ErrorClass.REJECTED:
        submission.status = Status.REJECTED
        submission.next_attempt_at = None
        return
    if outcome.error_class in (ErrorClass.CONFIGURATION, ErrorClass.ACCOUNT):
        # Only staff can fix this; keep it queued and try again now and then, so that fixed
        # settings are picked up without anyone having to resend by hand.
        submission.status = Status.HELD
        submission.next_attempt_at = now + timedelta(seconds=settings.FORWARD_CONFIG_RETRY_SECONDS)
        return
    if outcome.error_class == ErrorClass.UNKNOWN_OUTCOME:
        # A lost request is worse than a duplicate: retry, and tell staff to check.
        submission.possible_duplicate = True
    if submission.attempt_count >= settings.FORWARD_MAX_ATTEMPTS:
        submission.status = Status.FAILED
        submission.next_attempt_at = None
        return
    submission.status = Status.RETRYING
    submission.next_attempt_at = now + timedelta(
        seconds=retry_delay(error_class=outcome.error_class, attempt=submission.attempt_count)
    )


def retry_delay(*, error_class: str, attempt: int) -> float:
    """Exponential back-off with jitter; rate limits and quotas wait much longer."""
    if error_class == ErrorClass.RATE_LIMITED:
        base, cap = (
            settings.FORWARD_RATE_LIMIT_BASE_SECONDS,
            settings.FORWARD_RATE_LIMIT_MAX_SECONDS,
        )
    else:
        base, cap = settings.FORWARD_RETRY_BASE_SECONDS, settings.FORWARD_RETRY_MAX_SECONDS
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    # "Equal jitter": never less than half the back-off, so retries stay spread out but bounded.
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311


def _record_exchanges(submission: Submission, exchanges: list[Exchange], *, retry_at) -> None:
    attempts = [
        Attempt(
            submission=submission,
            kind=exchange.kind,
            started_at=exchange.started_at,
            duration_ms=exchange.duration_ms,
            url=exchange.url[:500],
            request=exchange.request,
            http_status=exchange.http_status,
            response=exchange.response,
            error_class=exchange.error_class or submission.last_error_class,
            message=exchange.message,
        )
        for exchange in exchanges
    ]
    if not attempts:
        # Nothing went on the wire (e.g. a setting is missing): still leave a trace for staff.
        attempts.append(
            Attempt(
                submission=submission,
                started_at=timezone.now(),
                duration_ms=0,
                url="",
                request={},
                error_class=submission.last_error_class,
                message=submission.last_error,
            )
        )
    attempts[-1].retry_at = retry_at
    Attempt.objects.bulk_create(attempts)


def _queue_forward(submission: Submission) -> None:
    from .tasks import enqueue_forward, ensure_sweep_scheduled

    enqueue_forward(submission_id=submission.pk, run_after=submission.next_attempt_at)
    ensure_sweep_scheduled()


# --- recovery -----------------------------------------------------------------------------
def submission_recover_stalled() -> dict[str, int]:
    """Requeue forwards whose worker died, and re-queue due submissions whose task was lost."""
    now = timezone.now()
    recovered = 0
    for submission_id in Submission.objects.filter(
        status=Status.SENDING, lease_expires_at__lt=now
    ).values_list("pk", flat=True):
        with transaction.atomic():
            submission = Submission.objects.select_for_update().get(pk=submission_id)
            if submission.status != Status.SENDING or submission.lease_expires_at >= now:
                continue
            submission.attempt_count += 1
            _apply_outcome(
                submission,
                Outcome(
                    None,
                    ErrorClass.UNKNOWN_OUTCOME,
                    "The worker stopped during the call; the provider may have the ticket.",
                    [],
                ),
            )
            if submission.status == Status.RETRYING:
                submission.next_attempt_at = now  # it has waited out the lease already
            submission.save()
            _record_exchanges(submission, [], retry_at=submission.next_attempt_at)
            if submission.status in PENDING_STATUSES:
                transaction.on_commit(lambda s=submission: _queue_forward(s))
        logger.warning("submission %s: worker lost mid-forward, requeued", submission.reference)
        recovered += 1

    # A task can be lost between a commit and its enqueue (a crash in between); one overdue by
    # more than the grace period gets a fresh task. A duplicate task finds nothing to claim.
    overdue_before = now - timedelta(seconds=settings.FORWARD_SWEEP_GRACE_SECONDS)
    overdue = Submission.objects.filter(status__in=PENDING_STATUSES).filter(
        Q(next_attempt_at__lte=overdue_before)
        | Q(next_attempt_at__isnull=True, updated_at__lte=overdue_before)
    )
    requeued = 0
    for submission in overdue.only("pk", "next_attempt_at")[:1000]:
        _queue_forward(submission)
        requeued += 1
    return {"recovered": recovered, "requeued": requeued}


# --- staff actions ------------------------------------------------------------------------
# What staff may send again, correct or cancel: anything not delivered, not on the wire right
# now, and not cancelled (cancelling is final).
RESENDABLE_STATUSES = (*PENDING_STATUSES, Status.FAILED, Status.REJECTED)


def submission_resend(*, submission: Submission) -> bool:
    """Queue a submission that is not sent for an attempt now, with a fresh retry budget."""
    now = timezone.now()
    updated = Submission.objects.filter(pk=submission.pk, status__in=RESENDABLE_STATUSES).update(
        status=Status.QUEUED, next_attempt_at=now, attempt_count=0, updated_at=now
    )
    if updated:
        submission.refresh_from_db()
        transaction.on_commit(lambda: _queue_forward(submission))
        logger.info("submission %s queued again by staff", submission.reference)
    return bool(updated)


def submission_cancel(*, submission: Submission) -> bool:
    """Stop trying to deliver a submission that is not sent."""
    updated = Submission.objects.filter(pk=submission.pk, status__in=RESENDABLE_STATUSES).update(
        status=Status.CANCELLED, next_attempt_at=None, updated_at=timezone.now()
    )
    if updated:
        submission.refresh_from_db()
        logger.info("submission %s cancelled by staff", submission.reference)
    return bool(updated)


def submission_correct(
    *, submission: Submission, changes: dict[str, Any], note: str, user: "AbstractBaseUser | None"
) -> Submission:
    """Change a submission's customer fields, record who changed what and why, and resend it.

    ``changes`` maps field names to new values; only the customer fields of the submission's
    provider may change. Raises ``ValidationError`` when a field is not allowed, a value is
    invalid, nothing changes, or the submission is sent, being sent, or cancelled.
    """
    provider = Provider(submission.provider)
    editable = CUSTOMER_FIELDS[provider]
    not_editable = set(changes) - set(editable)
    if not_editable:
        raise ValidationError(
            f"Fields staff cannot correct on a {provider.label} submission: "
            f"{', '.join(sorted(not_editable))}."
        )
    with transaction.atomic():
        # Locked, so a worker cannot claim it between this check and the save.
        current = Submission.objects.select_for_update().get(pk=submission.pk)
        if current.status not in RESENDABLE_STATUSES:
            raise ValidationError(
                f"A submission that is {current.get_status_display().lower()} cannot be corrected."
            )
        recorded: dict[str, list] = {}
        for name, raw_value in changes.items():
            new_value = Submission._meta.get_field(name).to_python(raw_value)
            old_value = getattr(current, name)
            if new_value != old_value:
                setattr(current, name, new_value)
                recorded[name] = [_as_json(old_value), _as_json(new_value)]
        if not recorded:
            raise ValidationError('Nothing was changed: use "Resend now" to send it as it is.')
        missing = [f for f in REQUIRED_FIELDS[provider] if getattr(current, f) in (None, "")]
        if missing:
            raise ValidationError(f"Missing required fields: {', '.join(missing)}.")
        if (current.latitude is None) != (current.longitude is None):
            raise ValidationError("Give both latitude and longitude, or neither.")
        current.full_clean(validate_unique=False, validate_constraints=False)
        current.save(update_fields=[*recorded, "updated_at"])
        Correction.objects.create(
            submission=current,
            changed_by=user if user is not None and user.is_authenticated else None,
            changes=recorded,
            note=note,
        )
        submission_resend(submission=current)
    # Field names only: the values are personal data.
    logger.info(
        "submission %s corrected by staff (%s) and queued again",
        current.reference,
        ", ".join(sorted(recorded)),
    )
    return current


def submission_mark_duplicate_checked(
    *, submission: Submission, user: "AbstractBaseUser | None", note: str = ""
) -> bool:
    """Clear the "possible duplicate" flag once staff have checked the provider's tickets.

    The clearing is recorded as a correction, so the flag's history stays on the submission.
    """
    with transaction.atomic():
        cleared = Submission.objects.filter(pk=submission.pk, possible_duplicate=True).update(
            possible_duplicate=False, updated_at=timezone.now()
        )
        if cleared:
            Correction.objects.create(
                submission_id=submission.pk,
                changed_by=user if user is not None and user.is_authenticated else None,
                changes={"possible_duplicate": [True, False]},
                note=note or "Checked the provider for a duplicate ticket.",
            )
    if cleared:
        submission.refresh_from_db()
        logger.info("submission %s: duplicate check done by staff", submission.reference)
    return bool(cleared)


def _as_json(value: Any) -> Any:
    """A field value as the JSON of a ``Correction`` can hold it."""
    if isinstance(value, Decimal):
        return str(value)
    return value


# --- personal data ------------------------------------------------------------------------
def _delete_with_files(submissions) -> int:
    """Delete submissions, their attempts and corrections, and their stored files."""
    storage = Attachment._meta.get_field("file").storage
    deleted = 0
    for submission in submissions.prefetch_related("attachments"):
        names = [attachment.file.name for attachment in submission.attachments.all()]
        with transaction.atomic():
            submission.delete()
            # Files go only once the rows are gone for good, so a failed delete loses nothing.
            transaction.on_commit(lambda names=names: [storage.delete(n) for n in names])
        deleted += 1
    return deleted


def submissions_purge_expired(*, older_than_days: int) -> dict[str, int]:
    """Delete what is past the retention period (PDPA in Malaysia, PDP law in Indonesia).

    A submission still being delivered is kept, whatever its age, and counted as ``kept``.
    """
    cutoff = timezone.now() - timedelta(days=older_than_days)
    expired = Submission.objects.filter(created_at__lt=cutoff)
    kept = expired.filter(status__in=UNDELIVERED_STATUSES).count()
    deleted = _delete_with_files(expired.exclude(status__in=UNDELIVERED_STATUSES))
    logger.info("retention: %d submission(s) deleted, %d kept while pending", deleted, kept)
    return {"deleted": deleted, "kept": kept}


def customer_data_erase(*, email: str = "", phone: str = "") -> int:
    """Delete every submission of one customer, found by e-mail or phone, with their files."""
    if not email and not phone:
        raise ValidationError("Give the customer's e-mail address or phone number.")
    from .selectors import submissions_of_customers

    deleted = _delete_with_files(submissions_of_customers([(email.strip(), phone.strip())]))
    logger.info("erasure on request: %d submission(s) deleted", deleted)
    return deleted

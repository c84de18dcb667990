"""What staff do to a submission that did not arrive: resend, cancel and reopen, correct, check a
duplicate, release or discard one held for a check. Each change a person decides on is recorded
as a ``Correction`` (who, when, what, why): the submission's staff history."""

import logging
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tickets.delivery import forward
from tickets.delivery.clock import database_now
from tickets.models import (
    CANCELLABLE_STATUSES,
    CHECKED_BY_STAFF_STATUSES,
    CUSTOMER_COLUMNS,
    REOPENABLE_STATUSES,
    RESENDABLE_STATUSES,
    Correction,
    Status,
    Submission,
)
from tickets.providers import ConfigurationError, get_provider

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

logger = logging.getLogger(__name__)


def submission_resend(*, submission: Submission) -> bool:
    """Queue a submission that is not sent for a forward now, with a fresh retry budget."""
    with transaction.atomic():
        current = _locked(submission, RESENDABLE_STATUSES)
        if current is not None:
            _queue_now(current)
    if current is None:
        return False
    submission.refresh_from_db()
    logger.info("submission %s queued again by staff", submission.reference)
    return True


def _queue_now(submission: Submission) -> None:
    """Move a locked submission to the queue, due now, as if it had never been tried."""
    now = database_now()
    submission.next_attempt_at = now
    submission.forward_count = 0
    submission.delivery_started_at = None
    submission.rate_limits_in_a_row = 0
    submission.failures_in_a_row = 0
    forward.submission_move(submission, to=Status.QUEUED, now=now)


def submission_cancel(
    *, submission: Submission, user: "AbstractBaseUser | None", reason: str
) -> bool:
    """Stop trying to deliver a submission that is not sent, even one on the wire right now:
    its claim ends here, so its worker's answer is a late one (see ``forward``). The customer
    is told; ``reason`` is for staff only, in the submission's history."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Say why the request is cancelled."), code="required")
    with transaction.atomic():
        current = _locked(submission, CANCELLABLE_STATUSES)
        if current is not None:
            status_before = current.status
            current.next_attempt_at = None
            current.claim_token = None
            current.lease_expires_at = None
            forward.submission_move(current, to=Status.CANCELLED, now=database_now())
            _record(current, user, {"status": [status_before, Status.CANCELLED]}, note=reason)
    if current is None:
        return False
    submission.refresh_from_db()
    logger.info("submission %s cancelled by staff", submission.reference)
    return True


def submission_release(
    *, submission: Submission, user: "AbstractBaseUser | None", reason: str
) -> bool:
    """Forward a request held for a check (``Status.CHECKING``): staff found it real. It goes in
    the queue, due now, and its customer gets the usual receipt and ticket number. ``reason``
    stays in the submission's history."""
    return _checked(submission, user=user, reason=reason, to=Status.QUEUED)


def submission_discard(
    *, submission: Submission, user: "AbstractBaseUser | None", reason: str
) -> bool:
    """Close a request held for a check without forwarding it: staff found it fake. Nobody is
    told (it may name someone who never asked); ``reason`` stays in its history."""
    return _checked(submission, user=user, reason=reason, to=Status.CANCELLED)


def _checked(
    submission: Submission, *, user: "AbstractBaseUser | None", reason: str, to: Status
) -> bool:
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Say why."), code="required")
    with transaction.atomic():
        current = _locked(submission, CHECKED_BY_STAFF_STATUSES)
        if current is not None:
            if to == Status.QUEUED:
                _queue_now(current)
            else:
                current.next_attempt_at = None
                forward.submission_move(current, to=to, now=database_now())
            _record(current, user, {"status": [Status.CHECKING, to]}, note=reason)
    if current is None:
        return False
    submission.refresh_from_db()
    logger.info("submission %s held for a check: %s by staff", submission.reference, to)
    return True


def submission_reopen(*, submission: Submission, user: "AbstractBaseUser | None") -> bool:
    """Undo a cancel: the request goes back in the queue, due now, with a fresh retry budget.

    Not when the provider made a ticket for it after all (a late answer to the cancelled
    forward, recorded beside it), nor while the forward it was cancelled in may still bring one
    (less than a lease ago): reopening would make a second.
    """
    with transaction.atomic():
        current = _locked(submission, REOPENABLE_STATUSES)
        if current is not None and (not reopenable(current) or _may_still_answer(current)):
            current = None
        if current is not None:
            _queue_now(current)
            _record(current, user, {"status": [Status.CANCELLED, Status.QUEUED]}, note="")
    if current is None:
        return False
    submission.refresh_from_db()
    logger.info("submission %s reopened by staff", submission.reference)
    return True


def reopenable(submission: Submission) -> bool:
    """Cancelled, and the provider made no ticket for it (a late answer to the cancelled forward
    may have brought one): what staff are offered to reopen. ``submission_reopen`` also waits
    out a forward that may still answer."""
    return submission.status in REOPENABLE_STATUSES and not submission.extra_tickets


def _may_still_answer(submission: Submission) -> bool:
    """Cancelled while on the wire, so recently that its forward's call may still answer."""
    cancel = submission.corrections.order_by("-changed_at", "-pk").first()
    if cancel is None or cancel.changes.get("status") != [Status.SENDING, Status.CANCELLED]:
        return False
    since = database_now() - timedelta(seconds=settings.FORWARD_LEASE_SECONDS)
    return cancel.changed_at >= since


def _record(
    submission: Submission, user: "AbstractBaseUser | None", changes: dict, *, note: str
) -> None:
    Correction.objects.create(
        submission_id=submission.pk,
        changed_by=user if user is not None and user.is_authenticated else None,
        changes=changes,
        note=note,
    )


def _locked(submission: Submission, statuses) -> Submission | None:
    """The submission, locked until the transaction ends, if its status is one of ``statuses``:
    a worker cannot claim it between this check and the change."""
    return (
        Submission.objects.select_for_update().filter(pk=submission.pk, status__in=statuses).first()
    )


def submission_correct(
    *, submission: Submission, changes: dict[str, Any], note: str, user: "AbstractBaseUser | None"
) -> Submission:
    """Change a submission's customer fields, record who changed what and why, and resend it.

    ``changes`` maps the provider form's field names to cleaned values (the correction form,
    built from the provider's form, has checked them). Raises ``ValidationError`` when a field
    is not the provider's, nothing changes, a required field is emptied, or the submission is
    sent, being sent, or cancelled.
    """
    try:
        provider = get_provider(submission.provider)
    except ConfigurationError as exc:
        raise ValidationError(
            _("%(provider)s is not a configured provider: it cannot be corrected.")
            % {"provider": submission.provider}
        ) from exc
    provider.customer_data_validate(changes)
    with transaction.atomic():
        # Locked, so a worker cannot claim it between this check and the save.
        current = Submission.objects.select_for_update().get(pk=submission.pk)
        if current.status not in RESENDABLE_STATUSES:
            raise ValidationError(
                _("A submission that is %(status)s cannot be corrected.")
                % {"status": current.get_status_display().lower()}
            )
        before = current.customer_data
        recorded = {
            name: [_as_json(before.get(name)), _as_json(value)]
            for name, value in changes.items()
            if value != before.get(name)
        }
        if not recorded:
            raise ValidationError(_('Nothing was changed: use "Resend now" to send it as it is.'))
        after = {**before, **{name: changes[name] for name in recorded}}
        provider.customer_data_validate(
            {name: after.get(name) for name in provider.form_class.customer_field_names()},
            partial=False,
        )
        for name in recorded:
            if name in CUSTOMER_COLUMNS:
                setattr(current, name, changes[name])
            else:
                current.details[name] = changes[name]
        current.full_clean(validate_unique=False, validate_constraints=False)
        current.save(
            update_fields=[*(n for n in CUSTOMER_COLUMNS if n in recorded), "details", "updated_at"]
        )
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
        current = (
            Submission.objects.select_for_update()
            .filter(pk=submission.pk, possible_duplicate=True)
            .first()
        )
        if current is not None:
            current.possible_duplicate = False
            forward.submission_move(current, to=None, now=database_now())
            _record(
                current,
                user,
                {"possible_duplicate": [True, False]},
                note=note or "Checked the provider for a duplicate ticket.",
            )
    if current is None:
        return False
    submission.refresh_from_db()
    logger.info("submission %s: duplicate check done by staff", submission.reference)
    return True


def _as_json(value: Any) -> Any:
    """A field value as the JSON of a ``Correction`` can hold it."""
    if isinstance(value, Decimal):
        return str(value)
    return value

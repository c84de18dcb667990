"""How a customer's request enters: stored, with its forward queued in the same transaction."""

import hashlib
import json
import logging
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import get_supported_language_variant

from tickets.customer.volume import request_hold_reason
from tickets.delivery.clock import database_now
from tickets.delivery.forward import FORWARDS, submission_move
from tickets.models import (
    WHATSAPP_UPDATES,
    Attachment,
    Status,
    Submission,
    new_reference,
    split_customer_data,
)
from tickets.providers import ConfigurationError, get_provider

logger = logging.getLogger(__name__)

# How long a request sent again from the same browser with the same content is taken for a
# mistake (Back, then Send; the same form filled in twice) rather than a new problem.
REPEAT_WINDOW = timedelta(days=1)


class AlreadySent(Exception):
    """The same browser sent the same content to the same provider within ``REPEAT_WINDOW``.

    Not a failure: the customer is shown ``earlier`` and may send it again on purpose.
    """

    def __init__(self, earlier: Submission) -> None:
        super().__init__(f"already sent as {earlier.reference}")
        self.earlier = earlier


def submission_create(
    *,
    provider: str,
    data: dict[str, Any],
    files: dict[str, UploadedFile] | None = None,
    form_token: uuid.UUID | None = None,
    language: str = "",
    browser_key: str = "",
    allow_repeat: bool = False,
    proof: str = "",
) -> Submission:
    """Store a customer's request and queue its forward with it (see ``scheduling``).

    ``data`` holds the provider form's cleaned customer fields. With a ``form_token`` the call is
    idempotent by content: the same token with the same fields and files returns the submission
    it created the first time (a double click, a refresh, a send retried after a dropped line),
    while the same token with different content (back, edit, send) is a new request and is
    stored and forwarded as one.

    With a ``browser_key``, the same content sent from that browser to the same provider with
    another form token within ``REPEAT_WINDOW`` raises ``AlreadySent`` unless ``allow_repeat``
    (the customer asked for a second ticket, or the browser has never sent anything before).

    During unusual volume a request without an accepted proof of work (``proof``, the form's
    solution), and past the provider's daily budget every request, is stored held for a check
    by staff (``Status.CHECKING``) instead of forwarded (``tickets.customer.volume``).
    """
    files = {role: upload for role, upload in (files or {}).items() if upload}
    digest = content_digest(provider=provider, data=data, files=files)
    try:
        ticket_provider = get_provider(provider)
    except ConfigurationError as exc:
        raise ValidationError(f"Unknown or disabled provider {provider!r}.") from exc
    ticket_provider.customer_data_validate(data, partial=False)
    unknown_roles = set(files) - set(ticket_provider.form_class.upload_field_names())
    if unknown_roles:
        raise ValidationError(f"{provider} takes no file named {', '.join(sorted(unknown_roles))}.")
    if browser_key and not allow_repeat:
        _refuse_a_repeat(
            provider=provider, browser_key=browser_key, digest=digest, form_token=form_token
        )

    held_for = request_hold_reason(provider=provider, proof=proof)
    columns, details = split_customer_data(data)
    now = database_now()
    language = _supported_language(language)
    # Meta allows business-initiated messages only with the customer's consent: when and how.
    wants_whatsapp = bool(details.get(WHATSAPP_UPDATES)) and bool(columns.get("phone"))
    submission = Submission(
        provider=provider,
        language=language,
        whatsapp_opt_in_at=now if wants_whatsapp else None,
        whatsapp_opt_in=f"{provider}:{language}" if wants_whatsapp else "",
        # Due now, on the database's clock: the sweep judges a lost task by this time. A request
        # held for a check is not due until staff release it.
        next_attempt_at=None if held_for else now,
        held_for=held_for,
        form_token=form_token,
        content_digest=digest,
        browser_key=browser_key,
        details=details,
        **columns,
    )
    # Uniqueness is the database's to enforce (the IntegrityError below), not a lookup first:
    # a lookup would be racy, and it would cost every request a query to find a copy that a
    # double click or a refresh sends once in a while.
    submission.full_clean(validate_unique=False, validate_constraints=False)
    for _try in range(3):
        try:
            with transaction.atomic():
                if held_for:
                    # Stored as held, so that staff hear of it as of any other change.
                    submission_move(submission, to=Status.CHECKING, now=now)
                    _store_files(submission, files)
                else:
                    submission.save()
                    _store_files(submission, files)
                    # A queue that fails must not turn a stored request into an error page:
                    # the request is pending in the database, and the sweep queues it.
                    FORWARDS.schedule(submission, now=now)
            break
        except IntegrityError:
            # Either this form was sent before with the same content (a double click, a
            # refresh, two copies racing: the first one stored is the request), or the random
            # reference collided with another (1 in ~700 million): draw again.
            if form_token is not None:
                existing = Submission.objects.filter(
                    form_token=form_token, content_digest=digest
                ).first()
                if existing is not None:
                    return existing
            submission.pk = None
            submission.reference = new_reference()
    else:
        raise IntegrityError("Could not store the submission after three tries.")
    if held_for:
        logger.warning(
            "submission %s created for %s, held for a check (%s)",
            submission.reference,
            provider,
            held_for,
        )
    else:
        logger.info("submission %s created for %s", submission.reference, provider)
    return submission


def _refuse_a_repeat(
    *, provider: str, browser_key: str, digest: str, form_token: uuid.UUID | None
) -> None:
    # Found by the two columns of its index; the rest is judged here, on the one or two rows
    # found, which keeps the query this adds to every send small. Written out: building it with
    # the ORM cost each post several times what running it does (bench/profile_submit.py).
    since = timezone.now() - REPEAT_WINDOW
    same_content = Submission.objects.raw(_SAME_CONTENT, [browser_key, digest])
    earlier = [
        row.pk
        for row in same_content
        # The same form token is the same request sent twice (a double click, a retried
        # upload): the unique constraint below answers it with the first submission.
        if row.provider == provider and row.created_at >= since and row.form_token != form_token
    ]
    if earlier:
        raise AlreadySent(Submission.objects.filter(pk__in=earlier).latest("created_at"))


_SAME_CONTENT = (
    "SELECT id, provider, form_token, created_at FROM tickets_submission"
    " WHERE browser_key = %s AND content_digest = %s"
)


def _supported_language(language: str) -> str:
    """The closest of settings.LANGUAGES to ``language`` ("ms-MY" -> "ms"), else the default."""
    try:
        return get_supported_language_variant(language or settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


def content_digest(*, provider: str, data: dict[str, Any], files: dict[str, UploadedFile]) -> str:
    """SHA-256 of what the customer sent: every field and every file's name and bytes."""
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            {"provider": provider, "fields": data}, sort_keys=True, cls=DjangoJSONEncoder
        ).encode()
    )
    for role in sorted(files):
        upload = files[role]
        digest.update(f"\0{role}\0{upload.name}\0".encode())
        upload.seek(0)
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
    return digest.hexdigest()


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

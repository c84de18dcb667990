"""Personal data: deletion after the retention period, and erasure on a customer's request."""

import logging
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from tickets.delivery.recipients import recipients_erase
from tickets.models import Attachment, Status, Submission

logger = logging.getLogger(__name__)


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

    A submission still being delivered is kept, whatever its age, and counted as ``kept``; one
    held for staff that long is not being delivered, and goes.
    """
    cutoff = timezone.now() - timedelta(days=older_than_days)
    expired = Submission.objects.filter(created_at__lt=cutoff)
    in_delivery = (Status.QUEUED, Status.SENDING, Status.RETRYING)
    kept = expired.filter(status__in=in_delivery).count()
    deleted = _delete_with_files(expired.exclude(status__in=in_delivery))
    logger.info("retention: %d submission(s) deleted, %d kept while pending", deleted, kept)
    return {"deleted": deleted, "kept": kept}


def customer_data_erase(*, email: str = "", phone: str = "") -> int:
    """Delete every submission of one customer, found by e-mail or phone, with their files."""
    if not email and not phone:
        raise ValidationError("Give the customer's e-mail address or phone number.")
    deleted = _delete_with_files(submissions_of_customers([(email.strip(), phone.strip())]))
    recipients_erase(email=email.strip(), phone=phone.strip())
    logger.info("erasure on request: %d submission(s) deleted", deleted)
    return deleted


def submissions_of_customers(customers: list[tuple[str, str]]) -> QuerySet[Submission]:
    """Every submission matching any of the (e-mail, phone) pairs, as erasure would find them."""
    match = Q(pk__in=[])
    for email, phone in customers:
        if email:
            match |= Q(email__iexact=email)
        if phone:
            match |= Q(phone=phone)
    return Submission.objects.filter(match)

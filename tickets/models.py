"""Records of what customers asked for and of every call made on their behalf.

A ``Submission`` is written before anything is sent, so a provider that is down can never lose a
request. Its status is changed only by ``tickets.services``.
"""

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# Crockford-style alphabet: no 0/O, 1/I/L or U, so a reference read over the phone is not misheard.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LENGTH = 6


def new_reference() -> str:
    return "REQ-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


class Provider(models.TextChoices):
    ONECLOUD = "onecloud", "OneCloud"
    STOREHUB = "storehub", "StoreHub"


class Status(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    RETRYING = "retrying", _("Waiting to retry")
    HELD = "held", _("Held: provider configuration")
    SENT = "sent", _("Sent")
    REJECTED = "rejected", _("Rejected by provider")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


# Statuses in which a submission is still owed a delivery attempt.
PENDING_STATUSES = (Status.QUEUED, Status.RETRYING, Status.HELD)
# Not delivered yet: pending, or in a worker's hands right now.
UNDELIVERED_STATUSES = (*PENDING_STATUSES, Status.SENDING)
# Nothing can happen to these any more. Rejected and failed ones are not final: staff can
# correct and resend them.
FINAL_STATUSES = (Status.SENT, Status.CANCELLED)
# Waiting for a person (staff or the provider's settings), not for the next automatic try.
WAITING_ON_STAFF_STATUSES = (Status.HELD, Status.REJECTED, Status.FAILED)


class ErrorClass(models.TextChoices):
    """The failure classes of CONTRACTS.md, plus success."""

    SUCCESS = "success", _("Success")
    TRANSIENT = "transient", _("Transient")
    RATE_LIMITED = "rate_limited", _("Rate-limited or over quota")
    TOKEN_EXPIRED = "token_expired", _("Token expired")
    CONFIGURATION = "configuration", _("Configuration")
    ACCOUNT = "account", _("Account")
    REJECTED = "rejected", _("Rejected")
    UNKNOWN_OUTCOME = "unknown_outcome", _("Unknown outcome")


class Priority(models.IntegerChoices):
    """StoreHub's ``Priority``."""

    LOW = -1, _("Low")
    NORMAL = 0, _("Normal")
    HIGH = 1, _("High")


class Submission(models.Model):
    provider = models.CharField(max_length=20, choices=Provider.choices)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    reference = models.CharField(max_length=12, unique=True, default=new_reference, editable=False)
    # The only key to the customer's status page: 122 random bits, never a sequential id.
    public_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    # Issued with the empty form; a second POST of the same form (double click, refresh,
    # back-and-resubmit) finds the submission it already created instead of making another.
    form_token = models.UUIDField(unique=True, null=True, blank=True, editable=False)

    # Shared by both providers: OneCloud fullName/contact/coordinate, StoreHub Name/Email/lat-long.
    name = models.CharField(_("name"), max_length=100)
    email = models.EmailField(_("e-mail"), max_length=254, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)

    # OneCloud only.
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    category = models.CharField(_("category"), max_length=50, blank=True)
    content = models.TextField(_("description"), max_length=5000, blank=True)

    # StoreHub only.
    phone = models.CharField(_("phone"), max_length=16, blank=True)
    issue = models.CharField(_("issue"), max_length=500, blank=True)
    priority = models.SmallIntegerField(
        _("priority"), choices=Priority.choices, null=True, blank=True
    )
    receive_sms = models.BooleanField(_("receive SMS updates"), null=True, blank=True)
    remark = models.TextField(_("remark"), max_length=1000, blank=True)
    store_name = models.CharField(_("store"), max_length=100, blank=True)
    dealer_reseller = models.CharField(_("dealer or reseller"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=500, blank=True)
    state = models.CharField(_("state"), max_length=50, blank=True)
    service_id = models.IntegerField(_("service"), null=True, blank=True)

    # What the provider answered.
    ticket_id = models.CharField(max_length=64, blank=True, db_index=True)
    case_number = models.CharField(max_length=64, blank=True, db_index=True)
    provider_ticket = models.JSONField(null=True, blank=True)

    # Delivery bookkeeping.
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_error_class = models.CharField(max_length=20, choices=ErrorClass.choices, blank=True)
    last_error = models.TextField(blank=True)
    possible_duplicate = models.BooleanField(
        default=False,
        help_text="A call may have reached the provider without an answer: check for a duplicate.",
    )

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def customer_ticket_number(self) -> str:
        """The number the customer quotes to the provider."""
        return self.case_number or self.ticket_id


def attachment_path(instance: "Attachment", filename: str) -> str:
    # A random directory per file: names customers chose never collide or reveal each other.
    return f"attachments/{instance.submission.public_id}/{secrets.token_hex(8)}/{filename}"


class Attachment(models.Model):
    class Role(models.TextChoices):
        ATTACHMENT = "attachment", _("Attachment (image)")
        FILE = "file", _("Additional file")

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="attachments")
    role = models.CharField(max_length=20, choices=Role.choices)
    file = models.FileField(upload_to=attachment_path, max_length=300)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["submission", "role"], name="one_file_per_role")
        ]

    def __str__(self) -> str:
        return self.original_name


class Attempt(models.Model):
    """One HTTP call to a provider (token fetches included), with secrets removed."""

    class Kind(models.TextChoices):
        TOKEN = "token", _("Token request")
        TICKET = "ticket", _("Create ticket")

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="attempts")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TICKET)
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    url = models.CharField(max_length=500)
    request = models.JSONField(help_text="Headers and body as sent, with secrets redacted.")
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.TextField(blank=True)
    error_class = models.CharField(max_length=20, choices=ErrorClass.choices)
    message = models.TextField(blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.submission_id} {self.kind} {self.error_class}"


class Correction(models.Model):
    """Staff's change to a submission's fields before a resend: who, when, what, and why."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="corrections")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    changes = models.JSONField(help_text='{"field": ["old value", "new value"], ...}')
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.submission_id} corrected at {self.changed_at:%Y-%m-%d %H:%M}"

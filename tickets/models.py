"""Records of what customers asked for and of every call made on their behalf.

A ``Submission`` is written before anything is sent, so a provider that is down can never lose a
request. Its status is written only by ``tickets.delivery.forward.submission_move``.
"""

import copy
import secrets
import smtplib
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from tickets.statuses import (  # noqa: F401  (re-exported: the models' vocabulary)
    CANCELLABLE_STATUSES,
    CHECKED_BY_STAFF_STATUSES,
    FINAL_STATUSES,
    PENDING_STATUSES,
    REOPENABLE_STATUSES,
    RESENDABLE_STATUSES,
    UNDELIVERED_STATUSES,
    WAITING_ON_STAFF_STATUSES,
    ErrorClass,
    Status,
)

# Crockford-style alphabet: no 0/O, 1/I/L or U, so a reference read over the phone is not misheard.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LENGTH = 6


# Customer fields kept as columns, for the staff's search, filters and erasure; every other
# customer field goes in ``Submission.details``.
CUSTOMER_COLUMNS = ("name", "email", "phone", "latitude", "longitude")
# The customer field that opts in to WhatsApp updates (``forms.fields.whatsapp_updates_field``),
# kept in ``details`` like the others; the consent itself is ``Submission.whatsapp_opt_in*``.
WHATSAPP_UPDATES = "whatsapp_updates"


def split_customer_data(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Customer fields as (column values, details)."""
    columns = {key: value for key, value in data.items() if key in CUSTOMER_COLUMNS}
    details = {key: value for key, value in data.items() if key not in CUSTOMER_COLUMNS}
    return columns, details


def new_reference() -> str:
    return "REQ-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


class HoldReason(models.TextChoices):
    """Why a request was held for a check by staff instead of forwarded when it came in."""

    VOLUME = "volume", _("Unusual volume, no proof of work")
    BUDGET = "budget", _("Past the provider's daily budget")


def _kept(value: Any) -> Any:
    """``value`` as read, to tell later whether it changed: a copy of a JSON value, which may
    be changed in place."""
    return copy.deepcopy(value) if isinstance(value, (dict, list)) else value


class Submission(models.Model):
    # A key of settings.TICKET_PROVIDERS. No choices on purpose: a new provider needs no migration,
    # and a provider taken out of the settings leaves its old rows readable.
    provider = models.CharField(_("provider"), max_length=40)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    reference = models.CharField(
        _("reference"), max_length=12, unique=True, default=new_reference, editable=False
    )
    # The only key to the customer's status page: 122 random bits, never a sequential id.
    public_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    # Issued with the empty form. The same form sent again with the same content (double click,
    # refresh, a retried upload) finds the submission it already created; sent with different
    # content (back, edit, send) it is a new request and makes a new submission.
    form_token = models.UUIDField(null=True, blank=True, editable=False, db_index=True)
    # SHA-256 of the customer fields and files as stored: what "the same content" means.
    content_digest = models.CharField(max_length=64, blank=True, editable=False)
    # A keyed hash of the sending browser's own cookie (never the cookie itself): the same
    # content sent again from that browser soon after is shown the request it already made.
    browser_key = models.CharField(max_length=64, blank=True, editable=False)

    # The language the customer used (a code of settings.LANGUAGES): every later message to
    # them (status page texts stay the page's language; e-mails use this) speaks it.
    language = models.CharField(_("language"), max_length=8, default="en")

    # The customer fields staff search, filter and sort on, whichever provider asked for them.
    name = models.CharField(_("name"), max_length=100)
    email = models.EmailField(_("e-mail"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=16, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    # Every other customer field, by the provider form's field names. The provider's form is
    # their one definition (labels, limits, choices) and validates them before they get here.
    details = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    # What the provider answered.
    ticket_id = models.CharField(_("ticket ID"), max_length=64, blank=True, db_index=True)
    case_number = models.CharField(_("case number"), max_length=64, blank=True, db_index=True)
    provider_ticket = models.JSONField(_("provider's answer"), null=True, blank=True)

    # Delivery bookkeeping.
    # Forwards made since the last resend: one forward is one try at delivery, which may take
    # several provider calls (a token, the ticket, a retry with a fresh token).
    forward_count = models.PositiveIntegerField(_("forwards"), default=0)
    next_attempt_at = models.DateTimeField(
        _("next attempt at"), null=True, blank=True, db_index=True
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_error_class = models.CharField(
        _("last error class"), max_length=20, choices=ErrorClass.choices, blank=True
    )
    last_error = models.TextField(_("last error"), blank=True)
    possible_duplicate = models.BooleanField(
        _("possible duplicate"),
        default=False,
        help_text=_(
            "A call may have reached the provider without an answer: check for a duplicate."
        ),
    )
    # Tickets the provider created for this request besides the one the customer was given (a
    # late answer from a worker that had lost its claim): [{"ticket_id", "case_number", "at"}].
    extra_tickets = models.JSONField(default=list, blank=True)
    # When the first forward since the last resend was made: the retry budget counts from it.
    # Cleared while held (only staff can end that, so it does not use up the budget).
    delivery_started_at = models.DateTimeField(null=True, blank=True)
    # Rate-limit answers in a row: each one doubles the wait before the next try.
    rate_limits_in_a_row = models.PositiveSmallIntegerField(default=0)
    # Transient failures and unknown outcomes in a row: the retry policy's place in its waits
    # (2 s, 10 s, 30 s, doubling...). A success, a hold or a resend starts it again.
    failures_in_a_row = models.PositiveIntegerField(default=0)
    # Fencing: each claim by a worker draws a new token; only the holder of the current token
    # may decide the status, so a worker that lost its lease cannot overwrite anything.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    # WhatsApp updates (Meta allows business-initiated messages only to customers who opted in):
    # when the customer ticked the box, and on which form in which language ("storehub:ms");
    # empty when they did not.
    whatsapp_opt_in_at = models.DateTimeField(
        _("WhatsApp updates agreed at"), null=True, blank=True
    )
    whatsapp_opt_in = models.CharField(_("WhatsApp updates agreed by"), max_length=200, blank=True)
    # Why it was held for a check when it came in; kept after staff release it, so that a flood
    # let through by hand does not raise what counts as a normal hour.
    held_for = models.CharField(
        _("held for a check"), max_length=10, choices=HoldReason.choices, blank=True
    )

    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            # The sweep looks for the few leases that ran out.
            models.Index(
                fields=["lease_expires_at"],
                name="submission_leased",
                condition=models.Q(lease_expires_at__isnull=False),
            ),
            models.Index(
                fields=["browser_key", "content_digest"], name="submission_browser_content"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["form_token", "content_digest"], name="one_submission_per_form_content"
            )
        ]

    # (status, possible_duplicate) as last read from or written to the database: what
    # ``tickets.delivery.forward.submission_move`` tells notifications the change started from.
    as_read: tuple[str | None, bool] = (None, False)
    # The status a worker's claim found (in memory only): a forward moves it from there.
    claimed_from: str | None = None

    def __str__(self) -> str:
        return self.reference

    def save(self, *args, update_fields=None, **kwargs) -> None:
        super().save(*args, update_fields=update_fields, **kwargs)
        self._as_written(update_fields)

    def refresh_from_db(self, using=None, fields=None, from_queryset=None) -> None:
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        self._as_written(fields)

    def _as_written(self, names) -> None:
        """``names`` (None: every field) now hold what the database holds."""
        if hasattr(self, "values_as_read"):
            loaded = self.values_as_read.keys() if names is None else names
            self.values_as_read |= {name: _kept(getattr(self, name)) for name in loaded}

    @classmethod
    def from_db(cls, db, field_names, values, **kwargs):
        submission = super().from_db(db, field_names, values, **kwargs)
        loaded = submission.__dict__
        submission.as_read = (loaded.get("status"), loaded.get("possible_duplicate", False))
        submission.values_as_read = {
            name: _kept(value) for name, value in zip(field_names, values, strict=True)
        }
        return submission

    def fields_changed(self) -> list[str] | None:
        """What to write of a row read from the database (``save(update_fields=...)``): the
        fields changed since it was read or last written (a JSON value against a copy of it:
        it may be changed in place), and ``updated_at``. None for a row never read: it is
        saved whole. The worker writes a submission twice per forward; its 35 columns cost
        more to build and send than the few a move changes."""
        read = getattr(self, "values_as_read", None)
        if read is None:
            return None
        changed = [
            name
            for name, value in read.items()
            if name not in ("id", "updated_at") and getattr(self, name) != value
        ]
        return [*changed, "updated_at"]

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def customer_data(self) -> dict[str, Any]:
        """Every customer field, columns and details together, by form field name."""
        columns = {name: getattr(self, name) for name in CUSTOMER_COLUMNS}
        return {**columns, **self.details}

    @property
    def duplicate_at_provider(self) -> bool:
        """The provider holds more than one ticket for this request (known, not suspected)."""
        return bool(self.extra_tickets)

    @property
    def customer_ticket_number(self) -> str:
        """The number the customer quotes to the provider."""
        return self.case_number or self.ticket_id


# File systems hold names of at most 255 bytes, and a Thai letter takes three of them, an emoji
# four: a stored file's name is cut to this, its extension kept (``Attachment.original_name``
# keeps the name the customer's phone gave it).
STORED_NAME_MAX_BYTES = 120


def attachment_path(instance: "Attachment", filename: str) -> str:
    # A random directory per file: names customers chose never collide or reveal each other.
    return (
        f"attachments/{instance.submission.public_id}/{secrets.token_hex(8)}/"
        f"{_storable_name(filename)}"
    )


def _storable_name(filename: str) -> str:
    stem, dot, extension = filename.rpartition(".")
    if not dot or len(extension) > 10:
        stem, dot, extension = filename, "", ""
    budget = STORED_NAME_MAX_BYTES - len(f"{dot}{extension}".encode())
    stem = stem.encode()[:budget].decode(errors="ignore") or "file"
    return f"{stem}{dot}{extension}"


class Attachment(models.Model):
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="attachments")
    # The upload field of the provider's form the file came in (the provider's part name).
    role = models.CharField(max_length=40)
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


def storable(value):
    """``value`` (text, or JSON's lists and objects) with every NUL character written out as
    ``\\u0000``: PostgreSQL's text and jsonb cannot hold one, and an answer from outside may."""
    if isinstance(value, str):
        return value.replace("\x00", "\\u0000")
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


class OutboundCall(models.Model):
    """One HTTP call the portal made to another's API (a provider, WhatsApp), as staff see it:
    secrets already removed, kept whatever the answer held."""

    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    url = models.CharField(max_length=500)
    request = models.JSONField(help_text="Headers and body as sent, with secrets redacted.")
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.TextField(blank=True)
    error_class = models.CharField(max_length=20, choices=ErrorClass.choices)

    class Meta:
        abstract = True
        ordering = ["started_at", "id"]

    @classmethod
    def of_exchange(cls, exchange, *, request: Any = None, **fields: Any) -> "OutboundCall":
        """The record of ``exchange`` (``tickets.outbound.http.Exchange``), unsaved; ``request``
        replaces what it sent, when more than its headers' secrets must go."""
        return cls(
            started_at=exchange.started_at,
            duration_ms=exchange.duration_ms,
            url=storable(exchange.url)[:500],
            request=storable(exchange.request if request is None else request),
            http_status=exchange.http_status,
            response=storable(exchange.response),
            **fields,
        )


class ProviderCall(OutboundCall):
    """One HTTP call to a provider (token fetches included). One forward of a submission makes
    one or more calls."""

    class Kind(models.TextChoices):
        TOKEN = "token", _("Token request")
        TICKET = "ticket", _("Create ticket")

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="calls")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TICKET)
    message = models.TextField(blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)

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


class RecipientQuerySet(models.QuerySet):
    def purge_unused(self, *, now) -> int:
        """Delete recipients no message names any more and that have not had their day's
        message for a day (the daily upkeep, after the retention period took the messages)."""
        unused = self.filter(
            created_at__lt=now - Recipient.DAY,
            emails__isnull=True,
            whatsapp_messages__isnull=True,
        ).exclude(allowance_used_at__gte=now - Recipient.DAY)
        deleted, _ = unused.delete()
        return deleted


class Recipient(models.Model):
    """An e-mail address or a WhatsApp number that messages go to, known by a keyed digest only
    (``tickets.delivery.recipients``), and whether its owner confirmed it is theirs.

    Until then it hears of one request a day on its channel, whatever number of requests name
    it (``allowance_*``: the day's first message and its request); ``tickets.delivery.recipients``
    says which.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        WHATSAPP = "whatsapp", _("WhatsApp")

    # The window an unconfirmed recipient's one message is counted over.
    DAY = timedelta(days=1)

    channel = models.CharField(max_length=10, choices=Channel.choices)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The message (of the channel's table) that had the day's one, when it was let through, and
    # the request whose later updates may follow it that day (none after a code).
    allowance_used_at = models.DateTimeField(null=True, blank=True)
    allowance_message_id = models.BigIntegerField(null=True, blank=True)
    allowance_submission_id = models.BigIntegerField(null=True, blank=True)

    objects = RecipientQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "digest"], name="one_recipient_per_digest")
        ]

    def __str__(self) -> str:
        state = "confirmed" if self.confirmed_at else "not confirmed"
        return f"{self.channel} recipient {self.pk} ({state})"


class Message(models.Model):
    """What an e-mail and a WhatsApp message to a customer share: a row of an outbox
    (``tickets.delivery.outbox``), sent by a task, retried by its policy, claimed by one worker
    at a time, and kept for staff to see."""

    language = models.CharField(_("language"), max_length=8)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    # When it is next due (when written, or its retry's time); empty once sent or given up.
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]
        indexes = [
            # The sweep looks for the few leases that ran out.
            models.Index(
                fields=["lease_expires_at"],
                name="%(app_label)s_%(class)s_leased",
                condition=models.Q(lease_expires_at__isnull=False),
            ),
        ]


class OutgoingEmail(Message):
    """One e-mail the portal sends: to whom, what, when, and how it went. Shown to staff.

    Written in the same transaction as the change it tells of, and sent by a task, so a mail
    server that is down delays an e-mail but never loses it and never slows a web request.
    """

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Receipt with the reference")
        TICKET_NUMBER = "ticket_number", _("Ticket number")
        CANCELLED = "cancelled", _("Request closed by staff")
        REOPENED = "reopened", _("Request going ahead after all")
        REJECTED = "rejected", _("Request rejected by the provider")
        ACCESS_CODE = "access_code", _("Code to find the request")
        STAFF_ALERT = "staff_alert", _("Staff alert")

    # How ``last_error`` begins when the mail server refused the recipients, not the message:
    # the address's trouble (a mistyped mailbox), not the mail server's.
    RECIPIENTS_REFUSED_ERROR = smtplib.SMTPRecipientsRefused.__name__

    class State(models.TextChoices):
        QUEUED = "queued", _("Waiting to be sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Could not be sent")
        WITHHELD = "withheld", _("Not sent: the recipient has not confirmed")

    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="emails", null=True, blank=True
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    to = models.CharField(_("to"), max_length=1000)
    # Set when the outbox decides whether the customer's address may have it (staff alerts: none).
    recipient = models.ForeignKey(
        Recipient, on_delete=models.SET_NULL, null=True, blank=True, related_name="emails"
    )
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)

    class Meta(Message.Meta):
        indexes = [
            *Message.Meta.indexes,
            # The sweep and /healthz look at the few e-mails not sent among the many that were.
            models.Index(
                fields=["next_attempt_at"],
                name="email_not_sent",
                condition=~models.Q(state="sent"),
            ),
            # /healthz: when the mail server last took one.
            models.Index(fields=["sent_at"], name="email_sent_at"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to} ({self.state})"


class StaffAlert(models.Model):
    """A request that needs a person; gathered into the next alert e-mail to staff."""

    class Reason(models.TextChoices):
        HELD = "held", _("Held")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Failed")
        POSSIBLE_DUPLICATE = "possible_duplicate", _("Possible duplicate")
        CHECKING = "checking", _("Held for a check")

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="alerts")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    # The e-mail that told staff; empty while the alert waits for the next one.
    email = models.ForeignKey(
        OutgoingEmail, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.submission_id} {self.reason}"


class WhatsAppMessage(Message):
    """One WhatsApp template message to a customer who opted in: what, to whom, and how it went.

    An outbox row like ``OutgoingEmail`` (written with the change it tells of, sent by a task,
    retried by its policy); then moved on by Meta's webhook: delivered, read, or failed late.
    """

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Receipt with the reference")
        TICKET_NUMBER = "ticket_number", _("Ticket number")
        REJECTED = "rejected", _("Request rejected by the provider")
        CANCELLED = "cancelled", _("Request closed by staff")
        REOPENED = "reopened", _("Request going ahead after all")
        ACCESS_CODE = "access_code", _("Code to find the request")

    class State(models.TextChoices):
        QUEUED = "queued", _("Waiting to be sent")
        HELD = "held", _("Held: the WhatsApp settings need a fix")
        SENT = "sent", _("Accepted by WhatsApp")
        DELIVERED = "delivered", _("Delivered")
        READ = "read", _("Read")
        FAILED = "failed", _("Could not be sent")
        WITHHELD = "withheld", _("Not sent: the recipient has not confirmed")

    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="whatsapp_messages"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # Digits with the country code, as WhatsApp wants them ("60123456789").
    to = models.CharField(_("to"), max_length=20)
    # Set when the outbox decides whether the number may have it.
    recipient = models.ForeignKey(
        Recipient,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="whatsapp_messages",
    )
    template = models.CharField(_("template"), max_length=512)
    parameters = models.JSONField(_("parameters"), default=list)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    # Meta's code for the last failure (131026: undeliverable); its words are ``last_error``.
    error_code = models.PositiveIntegerField(_("error code"), null=True, blank=True)
    # Meta's ID of the message ("wamid...."), which its webhook reports statuses by.
    wamid = models.CharField(_("WhatsApp message ID"), max_length=200, blank=True, db_index=True)
    # When Meta's last status for it happened (the webhook's timestamp), so an old status that
    # arrives late never moves it back.
    status_at = models.DateTimeField(null=True, blank=True)

    class Meta(Message.Meta):
        indexes = [
            *Message.Meta.indexes,
            models.Index(
                fields=["next_attempt_at"],
                name="whatsapp_not_sent",
                condition=models.Q(state__in=["queued", "held"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to WhatsApp ({self.state})"


class WhatsAppCall(OutboundCall):
    """One call to the WhatsApp Cloud API, with the access token removed."""

    message = models.ForeignKey(WhatsAppMessage, on_delete=models.CASCADE, related_name="calls")
    message_text = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.message_id} {self.error_class}"


class WhatsAppOptOutQuerySet(models.QuerySet):
    def stopped(self, phone: str) -> bool:
        """Whether ``phone`` asked for no more WhatsApp messages and has not opted back in."""
        return self.filter(phone=phone, opted_out=True).exists()


class WhatsAppOptOut(models.Model):
    """A phone number that replied STOP, and whether it still wants no WhatsApp messages: a
    START from the number opts it back in. ``changed_at`` and ``reply_id`` are Meta's time and
    ID of the reply that last said so, so that a reply delivered twice, or late, changes
    nothing."""

    phone = models.CharField(max_length=20, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    how = models.CharField(max_length=200, blank=True)
    opted_out = models.BooleanField(default=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    reply_id = models.CharField(max_length=200, blank=True)

    objects = WhatsAppOptOutQuerySet.as_manager()

    def __str__(self) -> str:
        state = "opted out" if self.opted_out else "opted back in"
        return f"{state} at {self.changed_at or self.created_at:%Y-%m-%d %H:%M}"


class AccessCodeQuerySet(models.QuerySet):
    """The steps of a code that the messages carrying it take (``now``: the database's time)."""

    def to_send(self, *, channel: str, now) -> str:
        """The code a message on ``channel`` is to carry: the live one, or "" when it expired
        (or a newer one replaced it) before the message could go."""
        access = (
            self.filter(channel=channel, used_at__isnull=True, expires_at__gt=now)
            .exclude(code_to_send="")
            .order_by("-created_at")
            .first()
        )
        return access.code_to_send if access else ""

    def sent(self, *, channel: str) -> None:
        """The message that carried the code has gone (or was given up): forget it in clear."""
        self.filter(channel=channel).exclude(code_to_send="").update(code_to_send="")

    def purge_uncounted(self, *, now) -> int:
        """Delete codes that have expired and that no count looks at any more (the daily
        upkeep): a code deleted sooner would take its wrong tries out of the day's count."""
        uncounted = self.filter(expires_at__lt=now, created_at__lt=now - AccessCode.COUNTED_FOR)
        deleted, _ = uncounted.delete()
        return deleted


class AccessCode(models.Model):
    """A one-time code that opens a request's status page to whoever reads the request's
    WhatsApp or e-mail: "Find my request", for a customer who lost the link.

    Kept as a keyed hash; the code itself only until the message that carries it has gone (or
    been given up). Opens only in the browser that asked for it (``browser_key``). The daily
    upkeep deletes codes once expired and ``COUNTED_FOR`` old.
    """

    # Why a message carrying a code was not sent (shown to staff in their language).
    EXPIRED_BEFORE_SENT = gettext_noop(
        "Not sent: the code expired, or a newer one replaced it, before it could go."
    )
    # How long a code opens the request.
    LIFETIME_SECONDS = 600
    # The longest window over which codes and their wrong tries are counted (a day's limits).
    COUNTED_FOR = timedelta(days=1)

    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="access_codes"
    )
    code_hash = models.CharField(max_length=64)
    code_to_send = models.CharField(max_length=12, blank=True)
    # A keyed hash of the asking browser's cookie (``tickets.customer.browser``): only there does
    # the code open, and only tries from there count against it.
    browser_key = models.CharField(max_length=64, blank=True)
    channel = models.CharField(max_length=10)  # "whatsapp" or "email"
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    wrong_tries = models.PositiveSmallIntegerField(default=0)

    objects = AccessCodeQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"code for {self.submission_id} by {self.channel}"


class SpentProof(models.Model):
    """A proof of work the portal accepted (``tickets.customer.proof_of_work``): its challenge's
    signature, so that the same solution is accepted once. Deleted by the daily upkeep once its
    challenge has expired, when it could not be accepted anyway."""

    signature = models.CharField(max_length=128, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"proof spent, expires {self.expires_at:%Y-%m-%d %H:%M}"

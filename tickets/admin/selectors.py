"""Read-side queries: what the customer's status page and staff pages show."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import (
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from tickets.delivery.reports import submissions_needing_attention
from tickets.models import (
    CANCELLABLE_STATUSES,
    CHECKED_BY_STAFF_STATUSES,
    RESENDABLE_STATUSES,
    Attachment,
    Correction,
    OutgoingEmail,
    ProviderCall,
    Status,
    Submission,
)
from tickets.providers import enabled_providers

# A word of a staff search, as full-text search takes it: letters and digits in any script.
WORD = re.compile(r"\w+")

SUMMARY_DAYS = 7


def submission_whatsapp_messages(*, submission: Submission) -> list:
    """Every WhatsApp message sent or due about this submission, with its calls, oldest first."""
    return list(submission.whatsapp_messages.prefetch_related("calls").order_by("created_at", "id"))


def submission_emails(*, submission: Submission) -> QuerySet[OutgoingEmail]:
    """Every e-mail sent or due about this submission, oldest first."""
    return submission.emails.order_by("created_at", "id")


def submission_list_for_staff() -> QuerySet[Submission]:
    """Every submission with ``ticket_calls``, the number of create-ticket calls ever made.

    ``forward_count`` restarts at zero when staff resend; the list shows the whole history. A
    correlated subquery is computed only for the rows of the page, unlike a JOIN + GROUP BY.
    """
    calls = (
        ProviderCall.objects.filter(submission=OuterRef("pk"), kind=ProviderCall.Kind.TICKET)
        .order_by()
        .values("submission")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Submission.objects.annotate(
        ticket_calls=Coalesce(Subquery(calls, output_field=IntegerField()), Value(0))
    )


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    today: int
    recent: int


@dataclass(frozen=True)
class AttentionCounts:
    failed: int
    held: int
    rejected: int
    possible_duplicate: int
    checking: int

    @property
    def total(self) -> int:
        return self.failed + self.held + self.rejected + self.possible_duplicate + self.checking


@dataclass(frozen=True)
class StaffSummary:
    since_today: datetime
    since_recent: datetime
    days: int
    by_status: list[StatusCount]
    attention: AttentionCounts


def submission_staff_summary(*, now: datetime | None = None) -> StaffSummary:
    """Counts by status for today and the last seven days, and what needs a person: 2 queries."""
    now = now or timezone.now()
    # "Today" is the portal's local day (TIME_ZONE), which is what staff mean by it.
    today_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    recent_start = today_start - timedelta(days=SUMMARY_DAYS - 1)
    aggregates = {}
    for status in Status:
        aggregates[f"today_{status.value}"] = Count(
            "pk", filter=Q(status=status, created_at__gte=today_start)
        )
        aggregates[f"recent_{status.value}"] = Count("pk", filter=Q(status=status))
    counts = Submission.objects.filter(created_at__gte=recent_start).aggregate(**aggregates)
    by_status = [
        StatusCount(
            status=status.value,
            label=str(status.label),
            today=counts[f"today_{status.value}"],
            recent=counts[f"recent_{status.value}"],
        )
        for status in Status
    ]
    # Not limited to a week: a failure from last month that nobody handled is still owed.
    attention = submissions_needing_attention().aggregate(
        failed=Count("pk", filter=Q(status=Status.FAILED)),
        held=Count("pk", filter=Q(status=Status.HELD)),
        rejected=Count("pk", filter=Q(status=Status.REJECTED)),
        possible_duplicate=Count("pk", filter=Q(possible_duplicate=True)),
        checking=Count("pk", filter=Q(status=Status.CHECKING)),
    )
    return StaffSummary(
        since_today=today_start,
        since_recent=recent_start,
        days=SUMMARY_DAYS,
        by_status=by_status,
        attention=AttentionCounts(**attention),
    )


def provider_configuration_problems() -> dict[str, list[str]]:
    """Each configured provider's label and the plain sentences naming its setting problems.

    Only providers with at least one problem are listed. No network call is made.
    """
    return {
        provider.label: found
        for provider in enabled_providers()
        if (found := provider.configuration_problems())
    }


def submission_timeline(*, submission: Submission) -> list[ProviderCall]:
    return list(submission.calls.all())


def submission_staff_log(*, submission: Submission) -> list[LogEntry]:
    """What staff did to this submission from the console, as the admin logged it, oldest first."""
    return list(
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Submission),
            object_id=str(submission.pk),
        )
        .select_related("user")
        .order_by("action_time", "pk")
    )


def submission_last_ticket_call(*, submission: Submission) -> ProviderCall | None:
    return submission.calls.filter(kind=ProviderCall.Kind.TICKET).order_by("-started_at").first()


def submissions_resendable(queryset: QuerySet[Submission]) -> list[Submission]:
    """The ones staff may resend, correct or cancel, read in full before any is changed."""
    return list(queryset.filter(status__in=RESENDABLE_STATUSES))


def submissions_held_for_a_check(queryset: QuerySet[Submission]) -> list[Submission]:
    return list(queryset.filter(status__in=CHECKED_BY_STAFF_STATUSES))


def submissions_cancellable(queryset: QuerySet[Submission]) -> list[Submission]:
    return list(queryset.filter(status__in=CANCELLABLE_STATUSES))


def submissions_matching_words(
    queryset: QuerySet[Submission], text: str, *, fields: list[str]
) -> QuerySet[Submission]:
    """PostgreSQL full-text search: every word of ``text`` begins a word somewhere in ``fields``,
    in any order ("kedai print" finds "Printer rosak" at "Kedai Runcit Maju").

    The "simple" configuration: Malay and Indonesian have no stemmer in PostgreSQL, and an
    English one would cut customers' Malay words wrongly.
    """
    words = WORD.findall(text)
    if not words:
        return queryset.none()
    query = SearchQuery(
        " & ".join(f"{word}:*" for word in words), search_type="raw", config="simple"
    )
    vector = SearchVector(*(_text_of(field) for field in fields), config="simple")
    return queryset.annotate(words=vector).filter(words=query)


def _text_of(field: str):
    """A column, or a key of ``details`` (``details__remark``) as text."""
    column, _, key = field.partition("__")
    return KeyTextTransform(key, column) if key else F(column)


def submissions_possibly_duplicated(queryset: QuerySet[Submission]) -> list[Submission]:
    return list(queryset.filter(possible_duplicate=True))


def customers_of(queryset: QuerySet[Submission]) -> list[tuple[str, str]]:
    """The (e-mail, phone) pairs of these submissions' customers, as erasure finds them."""
    return sorted(set(queryset.values_list("email", "phone")))


def submission_corrections(*, submission: Submission) -> list[Correction]:
    return list(submission.corrections.select_related("changed_by"))


def submission_attachments(*, submission: Submission) -> list[Attachment]:
    return list(submission.attachments.order_by("role"))


def submission_attachment(*, submission_id, attachment_id) -> Attachment:
    return get_object_or_404(Attachment, pk=attachment_id, submission_id=submission_id)

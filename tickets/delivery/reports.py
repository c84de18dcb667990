"""How delivery has gone, per provider: the staff's delivery page and the operators' metrics.

Read-only, like ``selectors``; a handful of grouped queries whatever the number of requests,
with the one exception of the time to a ticket, whose percentiles are worked out here from the
two timestamps of each request sent in the period (a few thousand rows a day at most).
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Max, Min, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import (
    PENDING_STATUSES,
    UNDELIVERED_STATUSES,
    WAITING_ON_STAFF_STATUSES,
    ErrorClass,
    OutgoingEmail,
    ProviderCall,
    Status,
    Submission,
)
from tickets.providers import enabled_providers, provider_label

# The periods the delivery page offers, in days.
PERIODS = (7, 30)

# How the page groups the statuses: what a request came to, in the order the charts stack them.
OUTCOMES: dict[str, tuple[Status, ...]] = {
    "sent": (Status.SENT,),
    "waiting": (Status.QUEUED, Status.SENDING, Status.RETRYING),
    "held": (Status.HELD, Status.CHECKING),
    "rejected": (Status.REJECTED,),
    "failed": (Status.FAILED,),
    "cancelled": (Status.CANCELLED,),
}
OUTCOME_LABELS = {
    "sent": _("Sent"),
    "waiting": _("Waiting"),
    "held": _("Held"),
    "rejected": _("Rejected"),
    "failed": _("Failed"),
    "cancelled": _("Cancelled"),
}
OUTCOME_OF_STATUS = {status: outcome for outcome, group in OUTCOMES.items() for status in group}


@dataclass
class DayFigures:
    day: date
    outcomes: dict[str, int]
    to_ticket_p50: float | None = None
    to_ticket_p95: float | None = None

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())


@dataclass
class ProviderDelivery:
    """One provider's requests created in the period, and its queue now."""

    alias: str
    label: str
    days: list[DayFigures]
    outcomes: dict[str, int]
    to_ticket_p50: float | None
    to_ticket_p95: float | None
    tickets: int
    # Failed calls to the provider in the period, by failure class (its label), most first.
    failures: list[tuple[str, int]] = field(default_factory=list)
    queue_depth: int = 0
    oldest_waiting_seconds: float | None = None

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())


def delivery_report(*, days: int, now: datetime | None = None) -> list[ProviderDelivery]:
    """Each enabled provider (and any other that has requests in the period), over the last
    ``days`` local days, today included."""
    now = now or timezone.now()
    zone = timezone.get_current_timezone()
    first_day = timezone.localtime(now, zone).date() - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(first_day, datetime.min.time()), zone)
    calendar = [first_day + timedelta(days=n) for n in range(days)]

    counts: dict[str, dict[date, Counter]] = defaultdict(lambda: defaultdict(Counter))
    rows = (
        Submission.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values_list("provider", "day", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for alias, day, status, n in rows:
        counts[alias][day][OUTCOME_OF_STATUS.get(status, "waiting")] += n

    durations: dict[str, dict[date, list[float]]] = defaultdict(lambda: defaultdict(list))
    for alias, created_at, seconds in _times_to_ticket(since):
        durations[alias][timezone.localtime(created_at, zone).date()].append(seconds)

    failures: dict[str, Counter] = defaultdict(Counter)
    failed_calls = (
        ProviderCall.objects.filter(started_at__gte=since)
        .exclude(error_class=ErrorClass.SUCCESS)
        .values_list("submission__provider", "error_class")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for alias, error_class, n in failed_calls:
        failures[alias][error_class] += n

    queue = queue_now(now=now)

    aliases = [provider.alias for provider in enabled_providers()]
    aliases += sorted({*counts, *queue} - set(aliases))
    report = []
    for alias in aliases:
        by_day = counts.get(alias, {})
        times = durations.get(alias, {})
        day_figures = [
            DayFigures(
                day=day,
                outcomes={outcome: by_day.get(day, Counter())[outcome] for outcome in OUTCOMES},
                to_ticket_p50=percentile(times.get(day, []), 50),
                to_ticket_p95=percentile(times.get(day, []), 95),
            )
            for day in calendar
        ]
        every_time = [seconds for day_times in times.values() for seconds in day_times]
        depth, oldest = queue.get(alias, (0, None))
        report.append(
            ProviderDelivery(
                alias=alias,
                label=provider_label(alias),
                days=day_figures,
                outcomes={
                    outcome: sum(figures.outcomes[outcome] for figures in day_figures)
                    for outcome in OUTCOMES
                },
                to_ticket_p50=percentile(every_time, 50),
                to_ticket_p95=percentile(every_time, 95),
                tickets=len(every_time),
                failures=[
                    (str(ErrorClass(name).label) if name in ErrorClass.values else name, n)
                    for name, n in failures.get(alias, Counter()).most_common()
                ],
                queue_depth=depth,
                oldest_waiting_seconds=oldest,
            )
        )
    return report


def queue_now(*, now: datetime | None = None) -> dict[str, tuple[int, float | None]]:
    """Per provider, the requests not delivered yet (queued, on the wire, retrying, held) and
    how long the oldest of them has waited, in seconds."""
    now = now or timezone.now()
    rows = (
        Submission.objects.filter(status__in=UNDELIVERED_STATUSES)
        .values_list("provider")
        .annotate(depth=Count("pk"), oldest=Min("created_at"))
        .values_list("provider", "depth", "oldest")
        .order_by()
    )
    return {alias: (depth, (now - oldest).total_seconds()) for alias, depth, oldest in rows}


def times_to_ticket(*, since: datetime) -> dict[str, list[float]]:
    """Per provider, the seconds from request to ticket of each request made since ``since``
    that has its ticket."""
    times: dict[str, list[float]] = defaultdict(list)
    for alias, _created_at, seconds in _times_to_ticket(since):
        times[alias].append(seconds)
    return times


def _times_to_ticket(since: datetime):
    sent = Submission.objects.filter(
        created_at__gte=since, status=Status.SENT, sent_at__isnull=False
    ).values_list("provider", "created_at", "sent_at")
    for alias, created_at, sent_at in sent.iterator():
        yield alias, created_at, max((sent_at - created_at).total_seconds(), 0.0)


def percentile(values: list[float], p: int) -> float | None:
    """The nearest-rank percentile: a value that occurred, none for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-p * len(ordered) // 100))  # ceil(p/100 * n), at least the first
    return ordered[rank - 1]


# A submission nobody will deliver without a person: the provider refused it, the retries ran
# out, the settings are wrong, or a call may have created a ticket twice.
NEEDS_ATTENTION = Q(status__in=WAITING_ON_STAFF_STATUSES) | Q(possible_duplicate=True)


def submissions_needing_attention(queryset: QuerySet[Submission] | None = None):
    queryset = Submission.objects.all() if queryset is None else queryset
    return queryset.filter(NEEDS_ATTENTION)


def forwarding_queue_stats() -> dict:
    """Depth and oldest age of the forwarding queue, for /healthz (no personal data): 1 query."""
    summary = Submission.objects.filter(status__in=UNDELIVERED_STATUSES).aggregate(
        depth=Count("pk"),
        oldest=Min("created_at"),
        held_for_configuration=Count("pk", filter=Q(status=Status.HELD)),
    )
    oldest = summary.pop("oldest")
    now = timezone.now()
    summary["oldest_waiting_seconds"] = int((now - oldest).total_seconds()) if oldest else 0
    # Due and not taken by any worker: how long the oldest such forward has waited.
    overdue = (
        Submission.objects.filter(status__in=PENDING_STATUSES, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    summary["overdue_seconds"] = int((now - overdue).total_seconds()) if overdue else 0
    return summary


def email_queue_stats() -> dict:
    """The e-mails not sent, for /healthz (counts and ages only): how many wait, how many of
    those the mail server refused last time, the oldest one's age, and how many were given up
    since the mail server last took one (a server down for longer than all the retries)."""
    unsent = OutgoingEmail.objects.exclude(state=OutgoingEmail.State.SENT)
    waiting = Q(state=OutgoingEmail.State.QUEUED)
    summary = unsent.aggregate(
        waiting=Count("pk", filter=waiting),
        refused_last_time=Count("pk", filter=waiting & ~Q(last_error="")),
        oldest=Min("created_at", filter=waiting),
    )
    oldest = summary.pop("oldest")
    summary["oldest_waiting_seconds"] = (
        int((timezone.now() - oldest).total_seconds()) if oldest else 0
    )
    last_sent = OutgoingEmail.objects.aggregate(last=Max("sent_at"))["last"]
    # An address the server refused (no such mailbox) is the customer's typo, not mail trouble.
    given_up = unsent.filter(state=OutgoingEmail.State.FAILED).exclude(
        last_error__startswith=OutgoingEmail.RECIPIENTS_REFUSED_ERROR
    )
    if last_sent is not None:
        given_up = given_up.filter(created_at__gt=last_sent)
    summary["given_up_since_last_sent"] = given_up.count()
    return summary


def seconds_since_a_worker_was_seen() -> int | None:
    """Seconds since any worker last started a task (the sweep runs every minute), or None."""
    from django_tasks_db.models import DBTaskResult

    last = DBTaskResult.objects.aggregate(last=Max("started_at"))["last"]
    return None if last is None else max(int((timezone.now() - last).total_seconds()), 0)

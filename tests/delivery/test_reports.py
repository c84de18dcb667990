"""Delivery figures per provider over a period (``tickets.delivery.reports``): what the staff's
delivery page and the operators' metrics show."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from tests.support.factories import stored_submission
from tickets.delivery.reports import delivery_report, percentile
from tickets.models import ErrorClass, ProviderCall, Status, Submission

pytestmark = pytest.mark.django_db

# Noon, local time, so that "n days ago" stays on its own local day.
NOW = timezone.make_aware(datetime(2026, 11, 30, 12, 0))


def made(provider: str, *, days_ago: float, status: str, took: float | None = None) -> Submission:
    submission = stored_submission(provider, status=status)
    created_at = NOW - timedelta(days=days_ago)
    sent_at = created_at + timedelta(seconds=took) if took is not None else None
    Submission.objects.filter(pk=submission.pk).update(created_at=created_at, sent_at=sent_at)
    return submission


def failed_call(submission: Submission, error_class: str, *, days_ago: float) -> None:
    ProviderCall.objects.create(
        submission=submission,
        started_at=NOW - timedelta(days=days_ago),
        duration_ms=80,
        url="http://provider.test/",
        request={},
        error_class=error_class,
    )


def by_alias(report) -> dict:
    return {delivery.alias: delivery for delivery in report}


def test_a_week_of_one_provider_in_figures():
    for took in (1, 2, 3, 4, 100):
        made("storehub", days_ago=1, status=Status.SENT, took=took)
    made("storehub", days_ago=0, status=Status.SENT, took=0.5)
    rejected = made("storehub", days_ago=2, status=Status.REJECTED)
    failed_call(rejected, ErrorClass.REJECTED, days_ago=2)
    retrying = made("storehub", days_ago=0, status=Status.RETRYING)
    failed_call(retrying, ErrorClass.TRANSIENT, days_ago=0)
    failed_call(retrying, ErrorClass.TRANSIENT, days_ago=0)
    made("storehub", days_ago=3, status=Status.HELD)
    made("storehub", days_ago=6, status=Status.CANCELLED)
    made("storehub", days_ago=7, status=Status.FAILED)  # the day before the week began

    storehub = by_alias(delivery_report(days=7, now=NOW))["storehub"]

    assert storehub.outcomes == {
        "sent": 6,
        "waiting": 1,
        "held": 1,
        "rejected": 1,
        "failed": 0,
        "cancelled": 1,
    }
    assert [day.day.isoformat() for day in storehub.days][-1] == "2026-11-30"
    assert len(storehub.days) == 7
    yesterday = storehub.days[-2]
    assert yesterday.outcomes["sent"] == 5
    assert (yesterday.to_ticket_p50, yesterday.to_ticket_p95) == (3, 100)
    assert (storehub.to_ticket_p50, storehub.to_ticket_p95, storehub.tickets) == (2, 100, 6)
    assert storehub.failures == [("Transient", 2), ("Rejected", 1)]
    # The queue is now, whatever the period: the one held and the one retrying.
    assert storehub.queue_depth == 2
    assert storehub.oldest_waiting_seconds == 3 * 86400


def test_thirty_days_and_every_provider_even_a_quiet_one():
    made("storehub", days_ago=20, status=Status.SENT, took=2)
    made("storehub", days_ago=40, status=Status.SENT, took=2)

    report = by_alias(delivery_report(days=30, now=NOW))

    assert report["storehub"].outcomes["sent"] == 1
    assert len(report["storehub"].days) == 30
    quiet = report["onecloud"]
    assert quiet.total == 0 and quiet.to_ticket_p50 is None and quiet.queue_depth == 0
    assert quiet.oldest_waiting_seconds is None


@pytest.mark.parametrize(
    ("values", "p50", "p95"),
    [([], None, None), ([7.0], 7.0, 7.0), ([1, 2, 3, 4], 2, 4), (list(range(1, 101)), 50, 95)],
)
def test_percentiles_are_values_that_occurred(values, p50, p95):
    assert (percentile(values, 50), percentile(values, 95)) == (p50, p95)

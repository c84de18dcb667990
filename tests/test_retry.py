"""The retry policy as tables: error class and forwards made in, next status and wait out."""

from datetime import UTC, datetime, timedelta

import pytest

from tickets.retry import RetryPolicy, backoff_seconds, next_step, slowest_forward_seconds
from tickets.statuses import ErrorClass, Status

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(
    max_forwards=8,
    retry_base_seconds=30,
    retry_max_seconds=3600,
    rate_limit_base_seconds=600,
    rate_limit_max_seconds=6 * 3600,
    held_retry_seconds=900,
)
# The two ends of the jitter: the shortest and the longest wait the policy can choose.
LOW, HIGH = (lambda: 0.0), (lambda: 0.999999)


def step(error_class, forwards_made, jitter=LOW):
    return next_step(
        error_class=error_class,
        forwards_made=forwards_made,
        first_forward_at=NOW - timedelta(minutes=5),
        now=NOW,
        policy=POLICY,
        jitter=jitter,
    )


@pytest.mark.parametrize(
    ("error_class", "forwards_made", "status", "wait_low", "wait_high", "duplicate"),
    [
        # Transient: 30 s doubling, half of it guaranteed ("equal jitter").
        (ErrorClass.TRANSIENT, 1, Status.RETRYING, 15, 30, False),
        (ErrorClass.TRANSIENT, 2, Status.RETRYING, 30, 60, False),
        (ErrorClass.TRANSIENT, 3, Status.RETRYING, 60, 120, False),
        (ErrorClass.TRANSIENT, 7, Status.RETRYING, 960, 1920, False),
        # Unknown outcome: retried like a transient error, and flagged for a duplicate check.
        (ErrorClass.UNKNOWN_OUTCOME, 1, Status.RETRYING, 15, 30, True),
        (ErrorClass.UNKNOWN_OUTCOME, 8, Status.FAILED, None, None, True),
        # Token expired twice in one forward is treated as transient.
        (ErrorClass.TOKEN_EXPIRED, 1, Status.RETRYING, 15, 30, False),
        # Rate limits and quotas wait ten minutes and more.
        (ErrorClass.RATE_LIMITED, 1, Status.RETRYING, 300, 600, False),
        (ErrorClass.RATE_LIMITED, 3, Status.RETRYING, 1200, 2400, False),
        # Only staff can fix these: held, tried again every 15 minutes, never failed.
        (ErrorClass.CONFIGURATION, 1, Status.HELD, 900, 900, False),
        (ErrorClass.ACCOUNT, 50, Status.HELD, 900, 900, False),
        # Retrying cannot help a refused request.
        (ErrorClass.REJECTED, 1, Status.REJECTED, None, None, False),
        # The budget: the eighth failed forward is the last.
        (ErrorClass.TRANSIENT, 8, Status.FAILED, None, None, False),
        (ErrorClass.RATE_LIMITED, 9, Status.FAILED, None, None, False),
    ],
)
def test_next_step(error_class, forwards_made, status, wait_low, wait_high, duplicate):
    low, high = step(error_class, forwards_made, LOW), step(error_class, forwards_made, HIGH)

    assert low.status == high.status == status
    assert low.possible_duplicate is duplicate
    if wait_low is None:
        assert low.retry_at is None and high.retry_at is None
    else:
        assert (low.retry_at - NOW).total_seconds() == pytest.approx(wait_low)
        assert (high.retry_at - NOW).total_seconds() == pytest.approx(wait_high, abs=0.01)


@pytest.mark.parametrize(
    ("error_class", "cap"),
    [(ErrorClass.TRANSIENT, 3600), (ErrorClass.RATE_LIMITED, 6 * 3600)],
)
def test_the_back_off_grows_to_its_cap_and_stays_there(error_class, cap):
    waits = [
        backoff_seconds(error_class=error_class, forwards_made=n, policy=POLICY, jitter=HIGH)
        for n in range(1, 30)
    ]

    assert waits == sorted(waits)
    assert waits[-1] == pytest.approx(cap, rel=1e-5)


def test_a_success_has_no_next_step():
    with pytest.raises(ValueError, match="success"):
        step(ErrorClass.SUCCESS, 1)


def test_the_policy_reads_its_settings(settings):
    settings.FORWARD_MAX_ATTEMPTS = 3
    settings.FORWARD_CONFIG_RETRY_SECONDS = 60

    policy = RetryPolicy.from_settings()

    assert policy.max_forwards == 3
    assert policy.held_retry_seconds == 60


@pytest.mark.parametrize(("connect", "read", "slowest"), [(5, 30, 140), (2, 1, 12), (0.5, 0.5, 4)])
def test_the_slowest_forward_counts_every_call_of_one_forward(connect, read, slowest):
    assert slowest_forward_seconds(connect_timeout=connect, read_timeout=read) == slowest

"""The retry policy as tables: what failed and what the provider said in; status and wait out."""

from datetime import UTC, datetime, timedelta

import pytest

from tickets.delivery.retry import RetryPolicy, backoff_seconds, next_step, slowest_forward_seconds
from tickets.statuses import ErrorClass, Status

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
DAY = 24 * 3600
POLICY = RetryPolicy(
    retry_period_seconds=3 * DAY,
    first_waits=(2, 10, 30),
    retry_max_seconds=3600,
    rate_limit_base_seconds=60,
    rate_limit_max_seconds=3600,
    held_retry_seconds=900,
)
# The two ends of the jitter: the shortest and the longest wait the policy can choose.
LOW, HIGH = (lambda: 0.0), (lambda: 0.999999)


def step(error_class, forwards_made, jitter=LOW, *, started=NOW - timedelta(minutes=5), **said):
    return next_step(
        error_class=error_class,
        forwards_made=forwards_made,
        delivery_started_at=started,
        now=NOW,
        policy=POLICY,
        jitter=jitter,
        **said,
    )


def wait_range(error_class, forwards_made, **said):
    low, high = (
        step(error_class, forwards_made, LOW, **said),
        step(error_class, forwards_made, HIGH, **said),
    )
    assert low.status == high.status
    return (low.retry_at - NOW).total_seconds(), (high.retry_at - NOW).total_seconds()


@pytest.mark.parametrize(
    ("error_class", "forwards_made", "wait_low", "wait_high"),
    [
        # Fast first: about 2 s, 10 s, 30 s (each spread by up to 20 % either way)...
        (ErrorClass.TRANSIENT, 1, 1.6, 2.4),
        (ErrorClass.TRANSIENT, 2, 8, 12),
        (ErrorClass.TRANSIENT, 3, 24, 36),
        # ...then doubling...
        (ErrorClass.TRANSIENT, 4, 48, 72),
        (ErrorClass.TRANSIENT, 5, 96, 144),
        # ...to a cap of an hour, never above it.
        (ErrorClass.TRANSIENT, 10, 2880, 3600),
        (ErrorClass.TRANSIENT, 60, 2880, 3600),
        # Unknown outcomes and a token refused twice in a row are retried the same way.
        (ErrorClass.UNKNOWN_OUTCOME, 1, 1.6, 2.4),
        (ErrorClass.TOKEN_EXPIRED, 2, 8, 12),
    ],
)
def test_transient_failures_are_retried_fast_then_backed_off(
    error_class, forwards_made, wait_low, wait_high
):
    low, high = wait_range(error_class, forwards_made)

    assert step(error_class, forwards_made).status == Status.RETRYING
    assert low == pytest.approx(wait_low)
    assert high == pytest.approx(wait_high, abs=0.01)


def test_an_unknown_outcome_is_flagged_as_a_possible_duplicate():
    assert step(ErrorClass.UNKNOWN_OUTCOME, 1).possible_duplicate
    assert not step(ErrorClass.TRANSIENT, 1).possible_duplicate


@pytest.mark.parametrize(
    ("in_a_row", "wait_low", "wait_high"),
    [(1, 48, 72), (2, 96, 144), (3, 192, 288), (12, 2880, 3600)],
)
def test_a_rate_limit_without_retry_after_waits_about_a_minute_then_backs_off(
    in_a_row, wait_low, wait_high
):
    low, high = wait_range(ErrorClass.RATE_LIMITED, 5, rate_limits_in_a_row=in_a_row)

    assert low == pytest.approx(wait_low)
    assert high == pytest.approx(wait_high, abs=0.01)


@pytest.mark.parametrize("retry_after", [1, 30, 600, 7200])
def test_a_rate_limit_with_retry_after_is_never_retried_sooner(retry_after):
    low, high = wait_range(
        ErrorClass.RATE_LIMITED, 1, retry_after=retry_after, rate_limits_in_a_row=4
    )

    assert low == pytest.approx(retry_after)
    assert retry_after <= high <= retry_after * 1.2 + 0.01


def test_a_quota_window_is_waited_for_until_it_opens():
    opens = NOW + timedelta(hours=9)

    low, high = wait_range(ErrorClass.RATE_LIMITED, 1, not_before=opens)

    assert low == pytest.approx(9 * 3600)
    assert 9 * 3600 <= high <= 9 * 3600 + 120


def test_a_quota_window_already_open_falls_back_on_the_back_off():
    low, high = wait_range(ErrorClass.RATE_LIMITED, 1, not_before=NOW - timedelta(minutes=1))

    assert (low, high) == pytest.approx((48, 72), abs=0.01)


@pytest.mark.parametrize("error_class", [ErrorClass.CONFIGURATION, ErrorClass.ACCOUNT])
@pytest.mark.parametrize("started_days_ago", [0, 3, 30])
def test_configuration_and_account_errors_are_held_at_a_steady_pace_and_never_failed(
    error_class, started_days_ago
):
    held = step(error_class, 500, started=NOW - timedelta(days=started_days_ago))

    assert held.status == Status.HELD
    assert (held.retry_at - NOW).total_seconds() == 900
    assert not held.budget_exhausted


def test_a_rejected_request_is_not_retried():
    rejected = step(ErrorClass.REJECTED, 1)

    assert (rejected.status, rejected.retry_at) == (Status.REJECTED, None)


@pytest.mark.parametrize(
    "error_class", [ErrorClass.TRANSIENT, ErrorClass.RATE_LIMITED, ErrorClass.UNKNOWN_OUTCOME]
)
def test_after_the_retry_period_the_request_fails_and_staff_must_be_told(error_class):
    over = step(error_class, 80, started=NOW - timedelta(days=3))

    assert over.status == Status.FAILED
    assert over.retry_at is None
    assert over.budget_exhausted
    assert over.possible_duplicate is (error_class == ErrorClass.UNKNOWN_OUTCOME)


def test_the_last_try_is_at_the_end_of_the_period_never_after_it():
    almost = step(ErrorClass.TRANSIENT, 40, HIGH, started=NOW - timedelta(days=3, seconds=-100))

    assert almost.status == Status.RETRYING
    assert almost.retry_at == NOW + timedelta(seconds=100)


def test_the_first_failure_starts_the_period():
    first = step(ErrorClass.TRANSIENT, 1, started=None)

    assert first.status == Status.RETRYING


def test_it_keeps_trying_for_the_whole_period_not_a_count_of_tries():
    """With an hour between tries at most, three days means dozens of tries, not eight."""
    started, now, tries = NOW, NOW, 0
    while True:
        tries += 1
        result = next_step(
            error_class=ErrorClass.TRANSIENT,
            forwards_made=tries,
            delivery_started_at=started,
            now=now,
            policy=POLICY,
            jitter=HIGH,
        )
        if result.status == Status.FAILED:
            break
        now = result.retry_at

    assert now - started == timedelta(days=3)
    assert 70 < tries < 90


def test_a_success_has_no_next_step():
    with pytest.raises(ValueError, match="success"):
        step(ErrorClass.SUCCESS, 1)


def test_the_back_off_grows_to_its_cap_and_stays_there():
    waits = [backoff_seconds(forwards_made=n, policy=POLICY, jitter=HIGH) for n in range(1, 40)]

    assert waits == sorted(waits)
    assert waits[-1] == pytest.approx(3600)


def test_the_policy_reads_its_settings(settings):
    settings.FORWARD_RETRY_PERIOD_SECONDS = 3600
    settings.FORWARD_RETRY_FIRST_WAITS = [1, 5]
    settings.OUTBOX_CONFIG_RETRY_SECONDS = 60

    policy = RetryPolicy.from_settings()

    assert policy.retry_period_seconds == 3600
    assert tuple(policy.first_waits) == (1, 5)
    assert policy.held_retry_seconds == 60


def test_the_defaults_are_three_days_and_fast_first_waits(settings):
    policy = RetryPolicy.from_settings()

    assert policy.retry_period_seconds == 3 * DAY
    assert tuple(policy.first_waits) == (2, 10, 30)
    assert policy.retry_max_seconds == 3600
    assert policy.rate_limit_base_seconds == 60


@pytest.mark.parametrize(("deadline", "read", "slowest"), [(90, 30, 120), (10, 1, 11)])
def test_the_slowest_forward_is_the_deadline_and_one_read_time_out(deadline, read, slowest):
    assert slowest_forward_seconds(deadline_seconds=deadline, read_timeout=read) == slowest

"""The retry policy: after a forward, what status comes next and when to try again.

Pure functions of the error class, the forwards made so far, the time of the first one and the
time now: no database, no HTTP, no settings read except by ``RetryPolicy.from_settings``. The
forwarding service, the sweep and the system checks ask it; tests read it as tables.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .statuses import ErrorClass, Status

# One forward makes at most four calls: token, ticket, and both again after "Expired token".
MAX_CALLS_PER_FORWARD = 4


@dataclass(frozen=True)
class RetryPolicy:
    max_forwards: int
    retry_base_seconds: float
    retry_max_seconds: float
    rate_limit_base_seconds: float
    rate_limit_max_seconds: float
    held_retry_seconds: float

    @classmethod
    def from_settings(cls) -> "RetryPolicy":
        from django.conf import settings

        return cls(
            max_forwards=settings.FORWARD_MAX_ATTEMPTS,
            retry_base_seconds=settings.FORWARD_RETRY_BASE_SECONDS,
            retry_max_seconds=settings.FORWARD_RETRY_MAX_SECONDS,
            rate_limit_base_seconds=settings.FORWARD_RATE_LIMIT_BASE_SECONDS,
            rate_limit_max_seconds=settings.FORWARD_RATE_LIMIT_MAX_SECONDS,
            held_retry_seconds=settings.FORWARD_CONFIG_RETRY_SECONDS,
        )


@dataclass(frozen=True)
class NextStep:
    """Where a submission goes after a forward that did not create a ticket."""

    status: Status
    retry_at: datetime | None
    # The call may have reached the provider: staff should check for a duplicate ticket.
    possible_duplicate: bool = False


def next_step(
    *,
    error_class: str,
    forwards_made: int,
    first_forward_at: datetime | None,
    now: datetime,
    policy: RetryPolicy,
    jitter: Callable[[], float] = random.random,
) -> NextStep:
    """The status and next try after a failed forward (``forwards_made`` counts this one).

    ``first_forward_at`` is when the first of these forwards was made; the budget counts
    forwards today, and a budget in time will read it. ``jitter`` returns a number in [0, 1).
    """
    if error_class == ErrorClass.SUCCESS:
        raise ValueError("A success has no next try.")
    if error_class == ErrorClass.REJECTED:
        return NextStep(Status.REJECTED, None)
    if error_class in (ErrorClass.CONFIGURATION, ErrorClass.ACCOUNT):
        # Only staff can fix this; keep it queued and try again now and then, so that fixed
        # settings are picked up without anyone having to resend by hand.
        return NextStep(Status.HELD, now + timedelta(seconds=policy.held_retry_seconds))
    # A lost request is worse than a duplicate: an unknown outcome is retried, and flagged.
    possible_duplicate = error_class == ErrorClass.UNKNOWN_OUTCOME
    if forwards_made >= policy.max_forwards:
        return NextStep(Status.FAILED, None, possible_duplicate)
    delay = backoff_seconds(
        error_class=error_class, forwards_made=forwards_made, policy=policy, jitter=jitter
    )
    return NextStep(Status.RETRYING, now + timedelta(seconds=delay), possible_duplicate)


def backoff_seconds(
    *,
    error_class: str,
    forwards_made: int,
    policy: RetryPolicy,
    jitter: Callable[[], float] = random.random,
) -> float:
    """Exponential back-off with "equal jitter"; rate limits and quotas wait much longer.

    Never less than half the back-off, so retries stay spread out but bounded.
    """
    if error_class == ErrorClass.RATE_LIMITED:
        base, cap = policy.rate_limit_base_seconds, policy.rate_limit_max_seconds
    else:
        base, cap = policy.retry_base_seconds, policy.retry_max_seconds
    ceiling = min(cap, base * 2 ** max(forwards_made - 1, 0))
    return ceiling / 2 + jitter() * ceiling / 2


def slowest_forward_seconds(*, connect_timeout: float, read_timeout: float) -> float:
    """How long one forward can take at worst, every call waiting out both time-outs."""
    return MAX_CALLS_PER_FORWARD * (connect_timeout + read_timeout)

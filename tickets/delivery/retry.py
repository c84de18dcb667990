"""The retry policies: after a forward, what status comes next and when to try again; after an
e-mail the mail server did not take, when to try again and when to give up.

Pure functions: no database, no HTTP, no settings read except by ``from_settings``. A forward's
next step depends on the error class, what the provider said about waiting, the forwards made,
when delivery started and the time now. The outboxes and the system checks ask them; tests read
them as tables.

A forward's rules (docs/delivery.md, "Error classes"):
- transient errors and unknown outcomes: fast first (2 s, 10 s, 30 s), then doubling to a cap of
  an hour, each wait spread by up to 20 % either way;
- rate limits: the provider's ``Retry-After`` when it gives one, the start of the quota window it
  names, or about a minute doubling while the limit lasts;
- configuration and account errors: held, tried again at a slow steady pace, never given up
  (only staff can fix them, and the time held does not count against the budget);
- rejected: not retried;
- the budget is time, not a count: after ``retry_period_seconds`` from the first forward the
  request is failed for staff. The last try is placed at the end of the budget.
"""

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tickets.statuses import ErrorClass, Status

# How far a wait may be spread either way, so that many requests that failed together (a
# provider outage) do not all come back in the same second.
SPREAD = 0.2
# A quota window opening is a moment everyone waits for: arrive within this many seconds after.
WINDOW_SPREAD_SECONDS = 120


@dataclass(frozen=True)
class RetryPolicy:
    retry_period_seconds: float
    first_waits: Sequence[float]
    retry_max_seconds: float
    rate_limit_base_seconds: float
    rate_limit_max_seconds: float
    held_retry_seconds: float

    @classmethod
    def from_settings(cls) -> "RetryPolicy":
        from django.conf import settings

        return cls(
            retry_period_seconds=settings.FORWARD_RETRY_PERIOD_SECONDS,
            first_waits=tuple(settings.FORWARD_RETRY_FIRST_WAITS),
            retry_max_seconds=settings.FORWARD_RETRY_MAX_SECONDS,
            rate_limit_base_seconds=settings.FORWARD_RATE_LIMIT_BASE_SECONDS,
            rate_limit_max_seconds=settings.FORWARD_RATE_LIMIT_MAX_SECONDS,
            held_retry_seconds=settings.OUTBOX_CONFIG_RETRY_SECONDS,
        )


@dataclass(frozen=True)
class NextStep:
    """Where a submission goes after a forward that did not create a ticket."""

    status: Status
    retry_at: datetime | None
    # The call may have reached the provider: staff should check for a duplicate ticket.
    possible_duplicate: bool = False
    # The retry budget ran out: staff must be told (the request is not retried any more).
    budget_exhausted: bool = False


def next_step(
    *,
    error_class: str,
    forwards_made: int,
    delivery_started_at: datetime | None,
    now: datetime,
    policy: RetryPolicy,
    rate_limits_in_a_row: int = 1,
    retry_after: float | None = None,
    not_before: datetime | None = None,
    jitter: Callable[[], float] = random.random,
) -> NextStep:
    """The status and next try after a failed forward.

    ``forwards_made`` counts the failed forwards in a row, this one included (a success, a hold
    or a resend starts the count again); ``delivery_started_at`` is when the first of them was made
    (None: this was the first). ``rate_limits_in_a_row`` counts this one too, when it was a rate
    limit. ``retry_after`` (seconds) and ``not_before`` are what the provider said about waiting.
    ``jitter`` returns a number in [0, 1).
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
    budget_ends = (delivery_started_at or now) + timedelta(seconds=policy.retry_period_seconds)
    if now >= budget_ends:
        return NextStep(Status.FAILED, None, possible_duplicate, budget_exhausted=True)
    if error_class == ErrorClass.RATE_LIMITED:
        retry_at = _rate_limited_retry_at(
            now=now,
            policy=policy,
            rate_limits_in_a_row=rate_limits_in_a_row,
            retry_after=retry_after,
            not_before=not_before,
            jitter=jitter,
        )
    else:
        wait = backoff_seconds(forwards_made=forwards_made, policy=policy, jitter=jitter)
        retry_at = now + timedelta(seconds=wait)
    # The last try is at the end of the budget, never after it.
    return NextStep(Status.RETRYING, min(retry_at, budget_ends), possible_duplicate)


def backoff_seconds(
    *, forwards_made: int, policy: RetryPolicy, jitter: Callable[[], float] = random.random
) -> float:
    """The wait after a transient failure: the first waits, then doubling to the cap, spread."""
    firsts = list(policy.first_waits) or [policy.retry_max_seconds]
    if forwards_made <= len(firsts):
        wait = firsts[max(forwards_made, 1) - 1]
    else:
        # The exponent is bounded: 2**40 seconds is far past any cap, and never overflows.
        wait = firsts[-1] * 2 ** min(forwards_made - len(firsts), 40)
    return _spread(min(wait, policy.retry_max_seconds), policy.retry_max_seconds, jitter)


def _rate_limited_retry_at(
    *,
    now: datetime,
    policy: RetryPolicy,
    rate_limits_in_a_row: int,
    retry_after: float | None,
    not_before: datetime | None,
    jitter: Callable[[], float],
) -> datetime:
    # What a provider asks for is honoured up to the whole retry period, never further (and a
    # silly Retry-After of a billion seconds cannot overflow the date arithmetic).
    longest = timedelta(seconds=policy.retry_period_seconds)
    if not_before is not None and not_before > now:
        # A quota window: the next try just after it opens (spread over a minute or two).
        return min(not_before, now + longest) + timedelta(seconds=jitter() * WINDOW_SPREAD_SECONDS)
    if retry_after is not None:
        # Never earlier than the provider asked; a little later, so that everyone told the same
        # does not come back in the same second.
        wait = min(max(retry_after, 1.0), longest.total_seconds())
        return now + timedelta(seconds=wait * (1 + SPREAD * jitter()))
    wait = policy.rate_limit_base_seconds * 2 ** min(max(rate_limits_in_a_row, 1) - 1, 40)
    cap = policy.rate_limit_max_seconds
    return now + timedelta(seconds=_spread(min(wait, cap), cap, jitter))


def _spread(wait: float, cap: float, jitter: Callable[[], float]) -> float:
    """``wait`` moved by up to ``SPREAD`` either way, never above the cap."""
    return min(wait * (1 - SPREAD + 2 * SPREAD * jitter()), cap)


@dataclass(frozen=True)
class MessageRetryPolicy:
    """Messages to people, e-mails and WhatsApp messages alike: 10 s, 30 s, 90 s... an hour at
    most between tries, given up after ``max_attempts`` (a mail server's or Meta's trouble rarely
    outlasts a day of tries)."""

    max_attempts: int
    first_wait_seconds: float = 10
    factor: float = 3
    max_wait_seconds: float = 3600

    @classmethod
    def from_settings(cls) -> "MessageRetryPolicy":
        from django.conf import settings

        return cls(max_attempts=settings.MESSAGE_MAX_ATTEMPTS)

    def gives_up(self, *, attempts: int) -> bool:
        return attempts >= self.max_attempts

    def wait_seconds(self, *, attempts: int) -> float:
        """The wait after the ``attempts``-th failed try."""
        exponent = min(max(attempts, 1) - 1, 20)
        return min(self.first_wait_seconds * self.factor**exponent, self.max_wait_seconds)


def slowest_forward_seconds(*, deadline_seconds: float, read_timeout: float) -> float:
    """How long one forward can take at worst, with a margin.

    A call still running at the deadline is abandoned there (``HttpClient._within``); the read
    time-out on top is a margin for the bookkeeping around the calls and a slow database.
    """
    return deadline_seconds + read_timeout

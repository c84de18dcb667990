"""One exception per failure class of docs/delivery.md ("Error classes").

``ProviderError`` covers failures of a send: the request or the provider is at fault, and the
delivery may be retried. ``ConfigurationError`` is deliberately *not* a ``ProviderError``: code that
catches send failures must never swallow a misconfiguration, which only staff can fix.
"""

from datetime import datetime
from typing import ClassVar

from tickets.statuses import ErrorClass


class _Classified(Exception):
    """A failure and everything the delivery machine needs to decide what comes next.

    ``retry_after`` (seconds) and ``not_before`` are what the provider said about waiting (rate
    limits only); ``may_have_created`` that the call may have created a ticket although it failed.
    """

    error_class: ClassVar[ErrorClass]
    may_have_created: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        retry_after: float | None = None,
        not_before: datetime | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.retry_after = retry_after
        self.not_before = not_before
        # Filled by TicketProvider.create_ticket: every call made before the failure.
        self.exchanges: list = []


class ProviderError(_Classified):
    """The provider could not take the ticket this time."""

    error_class = ErrorClass.TRANSIENT


class ProviderTransientError(ProviderError):
    """Down, 5xx, connection refused: nothing reached the provider, or it failed. Retry."""

    error_class = ErrorClass.TRANSIENT


class ProviderRateLimited(ProviderError):
    """Too many requests or over quota: the request is fine, retry later.

    ``retry_after`` (seconds) is what the provider asked for, e.g. in a ``Retry-After`` header;
    ``not_before`` is when a quota window the provider named opens again. The retry policy honours
    either, and backs off on its own when the provider said neither.
    """

    error_class = ErrorClass.RATE_LIMITED

    @classmethod
    def from_reply(cls, message: str, reply) -> "ProviderRateLimited":
        """A rate limit answered in ``reply`` (an ``HttpReply``), with its ``Retry-After``."""
        return cls(message, http_status=reply.status, retry_after=reply.retry_after_seconds())


class ProviderTokenExpired(ProviderError):
    """The bearer token has expired; a new one may succeed at once."""

    error_class = ErrorClass.TOKEN_EXPIRED


class ProviderRejected(ProviderError):
    """The provider refused this request's content; retrying unchanged cannot help."""

    error_class = ErrorClass.REJECTED


class ProviderUnknownOutcome(ProviderError):
    """The request may have been processed: a time-out or a dropped connection after sending,
    a gateway's 502 or 504 (the provider behind it may have finished), an undocumented 200 body."""

    error_class = ErrorClass.UNKNOWN_OUTCOME


class ConfigurationError(_Classified):
    """Our settings are missing or wrong, or the provider refuses our credentials."""

    error_class = ErrorClass.CONFIGURATION


class ProviderRedirected(ConfigurationError):
    """The provider answered with a redirect, which is never followed: the URL is wrong. The
    request had been sent, so the provider may have created the ticket."""

    error_class = ErrorClass.CONFIGURATION
    may_have_created = True


class AccountError(ConfigurationError):
    """The provider account itself is banned, unlicensed or expired."""

    error_class = ErrorClass.ACCOUNT


# A gateway's "bad gateway" and "gateway time-out" say nothing of what the server behind it did.
GATEWAY_STATUSES = (502, 504)


def server_error(provider_label: str, status: int) -> ProviderError:
    """The failure class of an HTTP 5xx answer to a ticket request."""
    if status in GATEWAY_STATUSES:
        return ProviderUnknownOutcome(
            f"{provider_label}: HTTP {status} from a gateway; the provider behind it may have "
            "created the ticket.",
            http_status=status,
        )
    return ProviderTransientError(f"{provider_label}: HTTP {status}.", http_status=status)

"""One exception per failure class of CONTRACTS.md.

``ProviderError`` covers failures of a send: the request or the provider is at fault, and the
delivery may be retried. ``ConfigurationError`` is deliberately *not* a ``ProviderError``: code that
catches send failures must never swallow a misconfiguration, which only staff can fix.
"""

from typing import ClassVar


class _Classified(Exception):
    error_class: ClassVar[str]

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        # Filled by TicketProvider.create_ticket: every call made before the failure.
        self.exchanges: list = []


class ProviderError(_Classified):
    """The provider could not take the ticket this time."""

    error_class = "transient"


class ProviderTransientError(ProviderError):
    """Down, 5xx, connection refused: nothing reached the provider, or it failed. Retry."""

    error_class = "transient"


class ProviderRateLimited(ProviderError):
    """Too many requests or over quota: the request is fine, retry much later."""

    error_class = "rate_limited"


class ProviderTokenExpired(ProviderError):
    """The bearer token has expired; a new one may succeed at once."""

    error_class = "token_expired"


class ProviderRejected(ProviderError):
    """The provider refused this request's content; retrying unchanged cannot help."""

    error_class = "rejected"


class ProviderUnknownOutcome(ProviderError):
    """The request may have been processed (time-out after sending, undocumented 200 body)."""

    error_class = "unknown_outcome"


class ConfigurationError(_Classified):
    """Our settings are missing or wrong, or the provider refuses our credentials."""

    error_class = "configuration"


class AccountError(ConfigurationError):
    """The provider account itself is banned, unlicensed or expired."""

    error_class = "account"

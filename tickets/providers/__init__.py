"""Ticket providers: one package each (``tickets/providers/<name>/``) behind one interface.

The providers in use are those in ``settings.TICKET_PROVIDERS``; ``registry`` builds them.
Nothing outside a provider's own package names a provider.
"""

from tickets.outbound.errors import ConfigurationError, ProviderError
from tickets.providers.base import FileUpload, ProviderTicket, TicketProvider, TicketRequest
from tickets.providers.registry import (
    enabled_providers,
    get_provider,
    provider_label,
    provider_or_none,
)

__all__ = [
    "ConfigurationError",
    "FileUpload",
    "ProviderError",
    "ProviderTicket",
    "TicketProvider",
    "TicketRequest",
    "enabled_providers",
    "get_provider",
    "provider_label",
    "provider_or_none",
]

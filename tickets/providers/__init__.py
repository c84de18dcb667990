"""Ticket providers behind one interface, built from settings on first use."""

from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .base import ProviderSettings, ProviderTicket, TicketProvider, TicketRequest
from .errors import ConfigurationError, ProviderError
from .onecloud import OneCloudProvider
from .storehub import StoreHubProvider

__all__ = [
    "ConfigurationError",
    "ProviderError",
    "ProviderTicket",
    "TicketProvider",
    "TicketRequest",
    "get_provider",
]

PROVIDER_CLASSES: dict[str, type[TicketProvider]] = {
    OneCloudProvider.name: OneCloudProvider,
    StoreHubProvider.name: StoreHubProvider,
}


def provider_settings(name: str) -> ProviderSettings:
    if name == "onecloud":
        options = {
            "token": settings.ONECLOUD_TOKEN,
            "token_url": settings.ONECLOUD_TOKEN_URL,
            "username": settings.ONECLOUD_USERNAME,
            "password": settings.ONECLOUD_PASSWORD,
            "categories": settings.ONECLOUD_CATEGORIES,
        }
        url = settings.ONECLOUD_URL
    elif name == "storehub":
        options = {
            "api_key": settings.STOREHUB_API_KEY,
            "state_spellings": settings.STOREHUB_STATE_SPELLINGS,
        }
        url = settings.STOREHUB_URL
    else:
        raise ConfigurationError(f"Unknown provider {name!r}.")
    return ProviderSettings(
        url=url,
        connect_timeout=settings.PROVIDER_CONNECT_TIMEOUT,
        read_timeout=settings.PROVIDER_READ_TIMEOUT,
        options=options,
    )


@cache
def get_provider(name: str) -> TicketProvider:
    """The provider called ``name``, built from settings once per process (it caches tokens)."""
    if name not in PROVIDER_CLASSES:
        raise ConfigurationError(f"Unknown provider {name!r}.")
    return PROVIDER_CLASSES[name](provider_settings(name))


@receiver(setting_changed)
def _forget_providers(**kwargs) -> None:
    get_provider.cache_clear()

"""The ticket providers configured in ``settings.TICKET_PROVIDERS``, built on first use.

Shaped like Django's own pluggable backends (``TASKS``, ``STORAGES``): an alias maps to
``{"BACKEND": "dotted.path.Class", "OPTIONS": {...}}``; the first use in a thread builds
``Class(alias=alias, **OPTIONS)`` and keeps it (a provider caches its tokens). The registry's keys,
in order, are the providers customers can choose. Changing the setting (in tests) rebuilds them.
"""

from asgiref.local import Local
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.connection import BaseConnectionHandler
from django.utils.module_loading import import_string

from tickets.outbound.errors import ConfigurationError
from tickets.providers.base import TicketProvider


class InvalidProvider(ImproperlyConfigured):
    """A TICKET_PROVIDERS entry that cannot be built."""


class ProviderHandler(BaseConnectionHandler):
    settings_name = "TICKET_PROVIDERS"
    exception_class = InvalidProvider

    def create_connection(self, alias: str) -> TicketProvider:
        params = self.settings[alias]
        backend = params.get("BACKEND", "")
        try:
            provider_class = import_string(backend)
        except ImportError as exc:
            raise InvalidProvider(
                f"TICKET_PROVIDERS[{alias!r}]: could not import BACKEND {backend!r}: {exc}"
            ) from exc
        if not (isinstance(provider_class, type) and issubclass(provider_class, TicketProvider)):
            raise InvalidProvider(
                f"TICKET_PROVIDERS[{alias!r}]: {backend!r} is not a TicketProvider."
            )
        # What every provider must say and the base class cannot: its annotations with no value.
        required = TicketProvider.__annotations__
        unset = [name for name in required if not hasattr(provider_class, name)]
        if unset:
            raise InvalidProvider(
                f"TICKET_PROVIDERS[{alias!r}]: {backend!r} does not set {', '.join(unset)} "
                "(see docs/adding-a-provider.md)."
            )
        try:
            return provider_class(alias=alias, **params.get("OPTIONS", {}))
        except TypeError as exc:  # a hook left abstract, or an option it does not take
            raise InvalidProvider(f"TICKET_PROVIDERS[{alias!r}]: {backend!r}: {exc}") from exc


providers = ProviderHandler()


@receiver(setting_changed)
def _rebuild_providers(*, setting: str, **kwargs) -> None:
    if setting == "TICKET_PROVIDERS":
        providers.__dict__.pop("settings", None)
        providers._settings = None
        providers._connections = Local(providers.thread_critical)


def get_provider(alias: str) -> TicketProvider:
    """The provider configured under ``alias``.

    Raises ``ConfigurationError`` (a failure only staff can fix, never a send error) when no
    provider has that alias, for example one taken out of the settings while requests for it
    were still waiting.
    """
    provider = provider_or_none(alias)
    if provider is None:
        raise ConfigurationError(f"No ticket provider {alias!r} in TICKET_PROVIDERS.")
    return provider


def enabled_providers() -> list[TicketProvider]:
    """Every configured provider, in the settings' order: what customers can choose from."""
    return [providers[alias] for alias in providers]


def provider_or_none(alias: str) -> TicketProvider | None:
    return providers[alias] if alias in providers.settings else None


def provider_label(alias: str) -> str:
    """The provider's name for staff; the bare alias for one no longer configured."""
    provider = provider_or_none(alias)
    return provider.label if provider is not None else alias


def check_providers(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """System checks: every entry can be built, and each provider's own ``check()``."""
    if not providers.settings:
        return [
            checks.Error(
                "TICKET_PROVIDERS is empty: customers have no service to choose.",
                hint="Set ENABLED_PROVIDERS, or TICKET_PROVIDERS in the settings.",
                id="tickets.E003",
            )
        ]
    messages: list[checks.CheckMessage] = []
    for alias in providers:
        try:
            provider = providers[alias]
        except ImproperlyConfigured as exc:
            messages.append(checks.Error(str(exc), id="tickets.E001"))
            continue
        messages.extend(provider.check())
    return messages

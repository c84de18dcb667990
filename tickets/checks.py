"""System checks: a missing or malformed setting is reported at start-up, not by a customer."""

import os

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from portal.env import RENAMED_VARIABLES
from tickets.channels import whatsapp_missing_settings
from tickets.delivery.retry import slowest_forward_seconds
from tickets.providers.registry import check_providers, enabled_providers

# Every provider's own check() feeds Django's system checks (tickets.E001-E003).
register(check_providers, Tags.compatibility)


@register(Tags.compatibility)
def check_forwarding_lease(app_configs=None, **kwargs) -> list[CheckMessage]:
    try:
        configured = enabled_providers()
    except ImproperlyConfigured:
        return []  # a provider that cannot be built is reported by check_providers
    warnings = []
    for provider in configured:
        longest = slowest_forward_seconds(
            deadline_seconds=settings.FORWARD_CALL_DEADLINE_SECONDS,
            read_timeout=provider.read_timeout,
        )
        if longest >= settings.FORWARD_LEASE_SECONDS:
            warnings.append(
                Warning(
                    f"FORWARD_LEASE_SECONDS ({settings.FORWARD_LEASE_SECONDS:g}) is not longer "
                    f"than the slowest possible forward to {provider.label} ({longest:g} s: the "
                    "call deadline plus one read time-out): a live worker's submission could be "
                    "taken over and sent twice.",
                    hint=(
                        "Raise FORWARD_LEASE_SECONDS, or lower FORWARD_CALL_DEADLINE_SECONDS or "
                        "PROVIDER_READ_TIMEOUT."
                    ),
                    id="tickets.W001",
                )
            )
    return warnings


@register(Tags.compatibility)
def check_mail(app_configs=None, **kwargs) -> list[CheckMessage]:
    """Customers get their ticket number and staff their alerts by e-mail: say when nobody will."""
    if settings.DEBUG:
        return []
    warnings = []
    if not settings.EMAIL_SERVER_CONFIGURED:
        warnings.append(
            Warning(
                "No mail server is configured: customers will get no receipt or ticket number "
                "by e-mail, and staff no alert.",
                hint="Set EMAIL_HOST (and EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, "
                "EMAIL_USE_TLS or EMAIL_USE_SSL, DEFAULT_FROM_EMAIL).",
                id="tickets.W002",
            )
        )
    if not settings.PORTAL_URL:
        warnings.append(
            Warning(
                "PORTAL_URL is not set: the links in e-mails (status pages, the staff console) "
                "would have no address.",
                hint="Set PORTAL_URL to the portal's public address, e.g. https://help.example.my",
                id="tickets.W003",
            )
        )
    if not (settings.OPERATOR_NAME and settings.PRIVACY_CONTACT):
        warnings.append(
            Warning(
                "OPERATOR_NAME or PRIVACY_CONTACT is empty: the privacy notice cannot say who "
                "holds the customers' data or whom to ask about it.",
                hint="Set OPERATOR_NAME (your company's name), OPERATOR_CONTACT and "
                "PRIVACY_CONTACT (an e-mail address or phone number).",
                id="tickets.W005",
            )
        )
    if not settings.STAFF_ALERT_EMAILS:
        warnings.append(
            Warning(
                "STAFF_ALERT_EMAILS is empty: no one is told when a request is held or given up, "
                "and customers are not told that staff know.",
                hint="Set STAFF_ALERT_EMAILS to the support team's addresses, comma-separated.",
                id="tickets.W004",
            )
        )
    return warnings


@register(Tags.compatibility)
def check_whatsapp(app_configs=None, **kwargs) -> list[CheckMessage]:
    """WhatsApp on (a number and a token) with a message kind that has no template named."""
    missing = whatsapp_missing_settings()
    if not missing:
        return []
    return [
        Warning(
            f"WhatsApp is on but {', '.join(missing)} is not set: customers who ask for WhatsApp "
            "updates will not get those messages.",
            hint="Name each template as approved by Meta in en, ms and id (docs/operations.md, "
            "WhatsApp).",
            id="tickets.W006",
        )
    ]


@register(Tags.compatibility)
def check_renamed_variables(app_configs=None, **kwargs) -> list[CheckMessage]:
    """An old variable name still works; the operator is asked to use the new one."""
    return [
        Warning(
            f"{old} is an old name: set {new} instead (the old one is read until then).",
            id="tickets.W007",
        )
        for new, old in RENAMED_VARIABLES.items()
        if os.environ.get(old, "").strip()
    ]

"""System checks: a missing or malformed provider setting is reported at start-up."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from .models import Provider


@register(Tags.compatibility, deploy=False)
def check_provider_settings(app_configs=None, **kwargs) -> list[Error]:
    from .selectors import provider_configuration_problems

    errors = [
        Error(
            f"ENABLED_PROVIDERS names an unknown provider {name!r}.",
            hint=f"Use any of: {', '.join(Provider.values)}.",
            id="tickets.E001",
        )
        for name in settings.ENABLED_PROVIDERS
        if name not in Provider.values
    ]
    for label, problems in provider_configuration_problems().items():
        errors.extend(
            Error(
                f"{label}: {problem}",
                hint="See .env.example and the README's configuration table.",
                id="tickets.E002",
            )
            for problem in problems
        )
    if not settings.ENABLED_PROVIDERS:
        errors.append(Error("ENABLED_PROVIDERS is empty.", id="tickets.E003"))
    return errors


@register(Tags.compatibility)
def check_forwarding_lease(app_configs=None, **kwargs) -> list[Warning]:
    # One forward makes at most four calls: token, ticket, and both again after "Expired token".
    longest_forward = 4 * (settings.PROVIDER_CONNECT_TIMEOUT + settings.PROVIDER_READ_TIMEOUT)
    if longest_forward >= settings.FORWARD_LEASE_SECONDS:
        return [
            Warning(
                f"FORWARD_LEASE_SECONDS ({settings.FORWARD_LEASE_SECONDS:g}) is not longer than "
                f"the slowest possible forward ({longest_forward:g} s): a live worker's "
                "submission could be taken over and sent twice.",
                hint="Raise FORWARD_LEASE_SECONDS or lower the provider time-outs.",
                id="tickets.W001",
            )
        ]
    return []

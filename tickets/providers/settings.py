"""How a provider reads one of its settings, like django-anymail's ``get_anymail_setting``.

The setting ``api_key`` of a provider whose prefix is ``STOREHUB`` is, in this order:
``TICKET_PROVIDERS[alias]["OPTIONS"]["api_key"]`` when that key is present (even empty: tests
clear a setting that way), else the environment variable ``STOREHUB_API_KEY`` unless it is unset
or empty (``NAME=`` in an env file), else the default. Only the environment's text is parsed
(by ``portal.env``'s readers); OPTIONS hold Python values already.
"""

from collections.abc import Callable, Mapping
from typing import Any

from portal.env import env_str

# Reads an environment variable, or its default when the variable is unset or empty: one of
# ``portal.env``'s readers (``env_float``, ``env_list``...), or a provider's own of that shape.
Reader = Callable[[str, Any], Any]


def setting_variable(prefix: str, name: str) -> str:
    """The environment variable of setting ``name``: ``("STOREHUB", "api_key")`` is
    ``STOREHUB_API_KEY``."""
    return f"{prefix}_{name.upper()}"


def provider_setting(
    options: Mapping[str, Any],
    name: str,
    *,
    prefix: str,
    default: Any = "",
    read: Reader = env_str,
) -> Any:
    """Setting ``name``: from ``options``, else the environment, else ``default``."""
    if name in options:
        return options[name]
    return read(setting_variable(prefix, name), default)

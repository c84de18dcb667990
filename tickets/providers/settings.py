"""How a provider reads one of its settings, like django-anymail's ``get_anymail_setting``.

The setting ``api_key`` of a provider whose prefix is ``STOREHUB`` is, in this order:
``TICKET_PROVIDERS[alias]["OPTIONS"]["api_key"]`` when that key is present (even empty: tests
clear a setting that way), else the environment variable ``STOREHUB_API_KEY`` unless it is unset
or empty (``NAME=`` in an env file), else the default. Only the environment's text is parsed;
OPTIONS hold Python values already.
"""

import os
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# Parses an environment variable's text, or raises ValueError saying what it should look like
# (the message follows the variable's name: "must be a number, not 'soon'.").
Parser = Callable[[str], Any]


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
    parse: Parser | None = None,
) -> Any:
    """Setting ``name``: from ``options``, else the environment, else ``default``."""
    if name in options:
        return options[name]
    variable = setting_variable(prefix, name)
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    if parse is None:
        return raw
    try:
        return parse(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{variable} {exc}") from exc


def number(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"must be a number, not {raw!r}.") from None


def comma_list(raw: str) -> list[str]:
    """``"Request, Question,"`` into ``["Request", "Question"]``."""
    return [item.strip() for item in raw.split(",") if item.strip()]

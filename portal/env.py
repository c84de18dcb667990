"""Reading environment variables: an unset or empty one (``NAME=`` in an env file) means the
default; a malformed one stops start-up with a message that names it. Used by the settings and
by each provider for its own (``tickets.providers.settings``)."""

import os

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    """The variable's value; unset or empty (``NAME=`` in an env file) means the default."""
    value = os.environ.get(name, "").strip()
    return value or default


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), not {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from exc


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}.") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_seconds_list(name: str, default: str) -> list[float]:
    # An empty variable means the default, like every other setting.
    items = env_list(name) or [item.strip() for item in default.split(",")]
    try:
        return [float(item) for item in items]
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"{name} must be numbers of seconds separated by commas, not {env_str(name)!r}."
        ) from exc

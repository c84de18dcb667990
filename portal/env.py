"""Reading environment variables: an unset or empty one (``NAME=`` in an env file) means the
default; a malformed one stops start-up with a message that names it. Used by the settings and
by each provider for its own (``tickets.providers.settings``)."""

import os

from django.core.exceptions import ImproperlyConfigured

# Variables renamed, new name -> old name: the old one is still read while the new one is unset,
# and a system check (tickets.W007) asks for the new name.
RENAMED_VARIABLES = {
    "OUTBOX_SWEEP_INTERVAL_SECONDS": "FORWARD_SWEEP_INTERVAL_SECONDS",
    "OUTBOX_SWEEP_GRACE_SECONDS": "FORWARD_SWEEP_GRACE_SECONDS",
    "OUTBOX_CONFIG_RETRY_SECONDS": "FORWARD_CONFIG_RETRY_SECONDS",
    "MESSAGE_MAX_ATTEMPTS": "EMAIL_MAX_ATTEMPTS",
}


def _raw(name: str) -> tuple[str, str | None]:
    """The variable read for ``name`` (its old name while only that one is set), and its text."""
    old = RENAMED_VARIABLES.get(name)
    if old and not os.environ.get(name, "").strip() and os.environ.get(old, "").strip():
        return old, os.environ[old]
    return name, os.environ.get(name)


def env_str(name: str, default: str = "") -> str:
    """The variable's value; unset or empty (``NAME=`` in an env file) means the default."""
    value = (_raw(name)[1] or "").strip()
    return value or default


def env_bool(name: str, default: bool = False) -> bool:
    name, raw = _raw(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), not {raw!r}.")


def env_int(name: str, default: int) -> int:
    name, raw = _raw(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from exc


def env_float(name: str, default: float) -> float:
    name, raw = _raw(name)
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

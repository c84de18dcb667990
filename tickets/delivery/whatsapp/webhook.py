"""Meta's webhook: the subscription check (a GET with the verify token), the signature of every
POST (``X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with the app secret>``), both
compared in constant time, and the signed body read into what it reports. Nothing unsigned is
read.

A delivery is read whole before anything of it is applied. Its envelope (``object``, ``entry``,
``changes``, ``value``, the ``statuses`` and ``messages`` lists, each status and message an
object) must be as Meta documents it, or the delivery is ``UnreadableDelivery``: the webhook
answers 400 and nothing of it is applied. Within that, a status or message the portal does not
take (another kind, a field missing or of the wrong type) is skipped: Meta sends kinds the portal
has no use for, and a delivery it answered with an error is delivered again, for days.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

SIGNATURE_HEADER = "X-Hub-Signature-256"
SIGNATURE_PREFIX = "sha256="
# The object of a delivery about WhatsApp; other products of the same app are not read.
WHATSAPP_OBJECT = "whatsapp_business_account"
# Meta's message IDs ("wamid.HBgL...") are about 60 characters; a longer one is not Meta's.
MAX_ID_LENGTH = 200
# A phone number as WhatsApp writes it: the country code and the number, digits only (E.164).
MAX_PHONE_DIGITS = 15


class UnreadableDelivery(ValueError):
    """A signed body that is not a webhook delivery as Meta documents it."""


@dataclass(frozen=True)
class Status:
    """What became of one message the portal sent: ``name`` is "sent", "delivered", "read" or
    "failed" (or a status the portal does not take); ``error``: Meta's first error object."""

    wamid: str
    name: str
    at: datetime
    error: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """A customer's text (or quick-reply button) message to the business number."""

    wamid: str
    phone: str
    text: str
    at: datetime


@dataclass(frozen=True)
class Delivery:
    statuses: list[Status]
    replies: list[Reply]
    # Statuses and messages the portal does not take.
    skipped: int


def sign(body: bytes, secret: str) -> str:
    """The header value Meta sends with ``body`` (the sandbox and the tests sign with it)."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_is_valid(body: bytes, header: str | None) -> bool:
    secret = settings.WHATSAPP["APP_SECRET"]
    if not secret or not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(sign(body, secret).encode(), header.strip().encode())


def verify_token_is_valid(token: str | None) -> bool:
    expected = settings.WHATSAPP["VERIFY_TOKEN"]
    return bool(expected and token) and hmac.compare_digest(token.encode(), expected.encode())


def delivery_read(body: bytes) -> Delivery:
    """The statuses and replies of a signed body; ``UnreadableDelivery`` says why there are
    none to be had from it."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise UnreadableDelivery(f"not JSON: {exc.__class__.__name__}") from exc
    except RecursionError as exc:
        # The parser gives up past the interpreter's recursion limit; Meta nests eight deep.
        raise UnreadableDelivery("JSON nested too deep") from exc
    top = _object(payload, "the body")
    if _typed(top, "object", str, "the body") != WHATSAPP_OBJECT:
        return Delivery(statuses=[], replies=[], skipped=0)
    statuses, replies, skipped = [], [], 0
    for entry in _objects(top, "entry", "the body", required=True):
        for change in _objects(entry, "changes", "an entry", required=True):
            value = _object(change.get("value"), "a change's value")
            for item in _objects(value, "statuses", "a change's value"):
                status = _status(item)
                statuses += [status] if status else []
                skipped += status is None
            for item in _objects(value, "messages", "a change's value"):
                reply = _reply(item)
                replies += [reply] if reply else []
                skipped += reply is None
    return Delivery(statuses=statuses, replies=replies, skipped=skipped)


# --- the envelope: its shape or UnreadableDelivery ----------------------------------------------
def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UnreadableDelivery(f"{what} is a {type(value).__name__}, not an object")
    return value


def _typed(container: dict[str, Any], key: str, kind: type, what: str, *, required=True) -> Any:
    value = container.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, kind):
        raise UnreadableDelivery(f"{key!r} of {what} is a {type(value).__name__}")
    return value


def _objects(container: dict[str, Any], key: str, what: str, *, required=False) -> list[dict]:
    items = _typed(container, key, list, what, required=required) or []
    return [_object(item, f"an item of {key!r}") for item in items]


# --- a status or a message: taken, or skipped (None) ------------------------------------------
def _status(item: dict[str, Any]) -> Status | None:
    wamid, name, at = _id(item.get("id")), item.get("status"), _timestamp(item.get("timestamp"))
    if wamid is None or not isinstance(name, str) or at is None:
        return None
    errors = item.get("errors")
    first = errors[0] if isinstance(errors, list) and errors else None
    return Status(wamid=wamid, name=name, at=at, error=first if isinstance(first, dict) else {})


def _reply(item: dict[str, Any]) -> Reply | None:
    wamid, phone, at = _id(item.get("id")), item.get("from"), _timestamp(item.get("timestamp"))
    kind, text = item.get("type"), None
    if kind == "text" and isinstance(item.get("text"), dict):
        text = item["text"].get("body")
    elif kind == "button" and isinstance(item.get("button"), dict):
        text = item["button"].get("text")
    phone_ok = isinstance(phone, str) and phone.isascii() and phone.isdigit()
    if not phone_ok or len(phone) > MAX_PHONE_DIGITS:
        return None
    if wamid is None or at is None or not isinstance(text, str):
        return None
    return Reply(wamid=wamid, phone=phone, text=text, at=at)


def _id(value: Any) -> str | None:
    """Meta's ID of a message: printable ASCII, never empty."""
    readable = isinstance(value, str) and value.isascii() and value.isprintable()
    return value if readable and 0 < len(value) <= MAX_ID_LENGTH else None


def _timestamp(value: Any) -> datetime | None:
    """Meta's Unix time in seconds, a string of digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not (value.isascii() and value.isdigit()) or len(value) > 11:
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None

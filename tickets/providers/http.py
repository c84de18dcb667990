"""Shared HTTP for providers: one session, explicit time-outs, no secrets kept, failures classified.

Network failures are mapped by *when* they happened. Nothing sent yet (refused, connect time-out,
DNS) is transient. A failure after the request went out (read time-out, a dropped connection)
means the provider may have created the ticket: that is an unknown outcome.
"""

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

from .errors import ConfigurationError, ProviderTransientError, ProviderUnknownOutcome

REDACTED = "***"
# A key is secret when, lower-cased and stripped of "-" and "_", it contains one of these:
# Authorization, X-Api-Key, accessToken, refresh_token, client_secret, password...
SECRET_KEY_PARTS = ("authorization", "password", "token", "secret", "apikey")
MAX_STORED_RESPONSE = 10_000


@dataclass
class Exchange:
    """One HTTP call as it will be stored in an ``Attempt`` row: no secrets in it."""

    kind: str  # "token" or "ticket"
    started_at: datetime
    duration_ms: int
    url: str
    request: dict[str, Any]
    http_status: int | None = None
    response: str = ""
    error_class: str = ""
    message: str = ""

    def classify(self, error_class: str, message: str) -> None:
        self.error_class = error_class
        self.message = message


@dataclass(frozen=True)
class HttpReply:
    status: int
    text: str
    json: Any  # None when the body is not JSON


def redact(value: Any) -> Any:
    """A copy of headers or a body with every secret-looking key's value replaced."""
    if isinstance(value, dict):
        return {
            key: (REDACTED if looks_secret(key) else redact(item)) for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def looks_secret(key: Any) -> bool:
    normalised = str(key).lower().replace("-", "").replace("_", "")
    return any(part in normalised for part in SECRET_KEY_PARTS)


class HttpClient:
    def __init__(self, *, connect_timeout: float, read_timeout: float) -> None:
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        # Never replay a POST on our own: a replay is a possible duplicate ticket, and retries are
        # scheduled by the forwarding task, which records each one.
        self.session.mount("http://", requests.adapters.HTTPAdapter(max_retries=0))
        self.session.mount("https://", requests.adapters.HTTPAdapter(max_retries=0))

    def post(
        self,
        *,
        url: str,
        kind: str,
        headers: dict[str, str],
        exchanges: list[Exchange],
        json_body: Any = None,
        data: dict[str, Any] | None = None,
        files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
        redact_response: bool = False,
    ) -> HttpReply:
        exchange = Exchange(
            kind=kind,
            started_at=datetime.now(UTC),
            duration_ms=0,
            url=url,
            request=describe_request(headers, json_body, data, files),
        )
        exchanges.append(exchange)
        started = time.monotonic()
        try:
            response = self.session.post(
                url, headers=headers, json=json_body, data=data, files=files, timeout=self.timeout
            )
            text = response.text
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
            raise ConfigurationError(f"The provider URL is not valid: {url}") from exc
        except requests.exceptions.SSLError as exc:
            raise ConfigurationError(f"TLS failed for {url}: {type(exc).__name__}") from exc
        except requests.exceptions.ConnectTimeout as exc:
            raise ProviderTransientError(f"No connection to {url} within the time-out.") from exc
        except requests.exceptions.ReadTimeout as exc:
            raise ProviderUnknownOutcome(
                "The request was sent but no answer came within the time-out."
            ) from exc
        except requests.exceptions.ConnectionError as exc:
            if _never_connected(exc):
                raise ProviderTransientError(f"Could not connect to {url}.") from exc
            raise ProviderUnknownOutcome(
                "The connection dropped after the request was sent."
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise ProviderUnknownOutcome(f"The HTTP call failed: {type(exc).__name__}.") from exc
        finally:
            exchange.duration_ms = int((time.monotonic() - started) * 1000)

        exchange.http_status = response.status_code
        parsed = _json_or_none(text)
        if redact_response:
            exchange.response = json.dumps(redact(parsed)) if parsed is not None else REDACTED
        else:
            exchange.response = text[:MAX_STORED_RESPONSE]
        return HttpReply(status=response.status_code, text=text, json=parsed)


def describe_request(
    headers: dict[str, str],
    json_body: Any,
    data: dict[str, Any] | None,
    files: list[tuple[str, tuple[str, bytes, str]]] | None,
) -> dict[str, Any]:
    described: dict[str, Any] = {"headers": redact(headers)}
    if json_body is not None:
        described["json"] = redact(json_body)
    if data is not None:
        described["form"] = redact(data)
    if files:
        described["files"] = [
            {"part": part, "filename": name, "content_type": ctype, "size": len(content)}
            for part, (name, content, ctype) in files
        ]
    return described


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _never_connected(exc: BaseException) -> bool:
    """True when the failure happened before any byte of the request left this machine."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NewConnectionError | NameResolutionError | ConnectionRefusedError):
            return True
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            current = reason
            continue
        args_exc = next(
            (a for a in getattr(current, "args", ()) if isinstance(a, BaseException)), None
        )
        current = args_exc or current.__cause__ or current.__context__
    return False

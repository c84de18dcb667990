"""Shared HTTP for providers: one session, explicit time-outs, no secrets kept, failures classified.

Network failures are mapped by *when* they happened. Nothing sent yet (refused, connect time-out,
DNS) is transient. A failure after the request went out (read time-out, a dropped connection)
means the provider may have created the ticket: that is an unknown outcome.

The outbound path is deliberately narrow: redirects are never followed (a provider URL that
redirects is a configuration error, and following it could fetch an internal address), every
call of one forward shares an overall deadline, and no secret is kept: not in headers or bodies
(any secret-looking key, at any depth), not in a URL's user-info or query.
"""

import ipaddress
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
import urllib3
from urllib3.exceptions import NameResolutionError, NewConnectionError

from tickets.outbound.errors import (
    ConfigurationError,
    ProviderRedirected,
    ProviderTransientError,
    ProviderUnknownOutcome,
)
from tickets.statuses import ErrorClass

REDACTED = "***"
# A key is secret when, lower-cased and stripped of "-" and "_", it contains one of these:
# Authorization, X-Api-Key, accessToken, refresh_token, client_secret, password...
SECRET_KEY_PARTS = ("authorization", "password", "token", "secret", "apikey")
MAX_STORED_RESPONSE = 10_000
# An answer larger than this is not read: no provider's ticket answer comes near it, and reading
# a runaway one would take the worker's memory.
MAX_ANSWER_BYTES = 1_000_000


@dataclass
class Exchange:
    """One HTTP call as it will be stored in a ``ProviderCall`` row: no secrets in it."""

    kind: str  # "token" or "ticket"
    started_at: datetime
    duration_ms: int
    url: str
    request: dict[str, Any]
    http_status: int | None = None
    response: str = ""
    error_class: ErrorClass | Literal[""] = ""  # "" until the call is classified
    message: str = ""

    def classify(self, error_class: ErrorClass, message: str) -> None:
        self.error_class = error_class
        self.message = message


class Exchanges(list[Exchange]):
    """The calls of one forward, in order, and the moment (``time.monotonic``) they must end by.

    Every call of the forward draws on one deadline, so a slow token fetch leaves less time for
    the ticket, and the whole forward ends well inside the worker's lease.
    """

    def __init__(self, *, deadline: float | None = None) -> None:
        super().__init__()
        self.deadline = deadline

    def seconds_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()


@dataclass(frozen=True)
class HttpReply:
    status: int
    text: str
    json: Any  # None when the body is not JSON
    headers: dict[str, str] = field(default_factory=dict)

    def retry_after_seconds(self, now: datetime | None = None) -> float | None:
        """The ``Retry-After`` header in seconds (it may be seconds or an HTTP date), or None."""
        return parse_retry_after(self.headers.get("retry-after"), now=now)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def redact(value: Any) -> Any:
    """A copy of headers or a body with every secret-looking key's value replaced."""
    if isinstance(value, dict):
        return {
            key: (REDACTED if looks_secret(key) else redact(item)) for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


# A value sent under a secret-looking key is cut out of the answer only from this length on, so
# that a short one ("1", "yes") does not blank out ordinary words.
SHORTEST_SCRUBBED_SECRET = 6


def sent_secrets(*sent: Any) -> list[str]:
    """Every value sent under a secret-looking key (and the credential of an ``Authorization:
    Bearer ...``), longest first: what the provider must not be able to echo into storage."""
    found: set[str] = set()

    def walk(value: Any, secret: bool) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, secret or looks_secret(key))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item, secret)
        elif secret and isinstance(value, str | int):
            text = str(value)
            found.add(text)
            _scheme, _, credential = text.partition(" ")
            found.add(credential.strip())

    for value in sent:
        walk(value, False)
    return sorted((s for s in found if len(s) >= SHORTEST_SCRUBBED_SECRET), key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def looks_secret(key: Any) -> bool:
    normalised = str(key).lower().replace("-", "").replace("_", "")
    return any(part in normalised for part in SECRET_KEY_PARTS)


def safe_url(url: str) -> str:
    """``url`` fit to store or log: no user-info, secret-looking query values replaced."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<a URL that cannot be parsed>"
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    query = urlencode(
        [
            (key, REDACTED if looks_secret(key) else value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def outbound_url_problem(setting: str, url: str, *, allow_http_on_loopback: bool) -> str:
    """Why ``url`` may not be called, or "". Only https, except plain http to this machine
    when ``allow_http_on_loopback`` (DEBUG: the sandbox providers)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return f"{setting} is not a valid URL."
    if not host:
        return f"{setting} must be a full https:// URL (got {safe_url(url)!r})."
    if parts.scheme == "https":
        return ""
    if parts.scheme == "http" and allow_http_on_loopback and _is_loopback(host):
        return ""
    if parts.scheme == "http" and allow_http_on_loopback:
        return f"{setting} must start with https:// (plain http only to this machine in DEBUG)."
    return f"{setting} must start with https:// (got {safe_url(url)!r})."


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class DeadlinePassed(Exception):
    """The forward's deadline came before the provider's answer was complete."""


class HttpClient:
    def __init__(self, *, connect_timeout: float, read_timeout: float) -> None:
        self.timeout = (connect_timeout, read_timeout)
        self.session = self._new_session()

    @staticmethod
    def _new_session() -> requests.Session:
        session = requests.Session()
        # Never replay a POST on our own: a replay is a possible duplicate ticket, and retries are
        # scheduled by the forward outbox, which records each one.
        session.mount("http://", requests.adapters.HTTPAdapter(max_retries=0))
        session.mount("https://", requests.adapters.HTTPAdapter(max_retries=0))
        return session

    def _within(self, seconds: float, call):
        """``call()``, given up after ``seconds`` of wall-clock time.

        Time-outs bound each read, not their sum: a provider dripping one byte at a time could
        hold a call far past the lease. So the call runs in a thread that is abandoned at the
        deadline (it ends by its own time-outs); its session goes with it.
        """
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["value"] = call()
            except BaseException as exc:  # handed over to the caller's thread
                outcome["error"] = exc

        worker = threading.Thread(target=run, name="provider-call", daemon=True)
        worker.start()
        worker.join(seconds)
        if worker.is_alive():
            self.session = self._new_session()
            raise DeadlinePassed
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

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
        shown_url = safe_url(url)
        seconds_left = exchanges.seconds_left() if isinstance(exchanges, Exchanges) else None
        if seconds_left is not None and seconds_left <= 0:
            # Nothing is sent: the forward used its time on earlier calls. Try again later.
            raise ProviderTransientError(
                "The forward ran out of time before this call; nothing was sent."
            )
        exchange = Exchange(
            kind=kind,
            started_at=datetime.now(UTC),
            duration_ms=0,
            url=shown_url,
            request=describe_request(headers, json_body, data, files),
        )
        exchanges.append(exchange)
        connect_timeout, read_timeout = self.timeout
        if seconds_left is not None:
            connect_timeout = min(connect_timeout, seconds_left)
            read_timeout = min(read_timeout, seconds_left)
        session = self.session
        deadline = None if seconds_left is None else time.monotonic() + seconds_left
        # A provider that echoes the key or password it was sent (in an error message, say)
        # cannot put it in a stored call, a failure text or a log: nothing past here sees it.
        secrets = sent_secrets(headers, json_body, data)

        def call() -> tuple[requests.Response, str]:
            response = session.post(
                url,
                headers=headers,
                json=json_body,
                data=data,
                files=files,
                timeout=(connect_timeout, read_timeout),
                allow_redirects=False,
                stream=True,
            )
            return response, scrub(_read_body(response, deadline=deadline), secrets)

        started = time.monotonic()
        try:
            response, text = call() if seconds_left is None else self._within(seconds_left, call)
        except DeadlinePassed as exc:
            raise ProviderUnknownOutcome(
                "No complete answer within the forward's deadline; the request may have arrived."
            ) from exc
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
            raise ConfigurationError(f"The provider URL is not valid: {shown_url}") from exc
        except requests.exceptions.SSLError as exc:
            raise ConfigurationError(f"TLS failed for {shown_url}: {type(exc).__name__}") from exc
        except requests.exceptions.ConnectTimeout as exc:
            raise ProviderTransientError(
                f"No connection to {shown_url} within the time-out."
            ) from exc
        except requests.exceptions.ReadTimeout as exc:
            raise ProviderUnknownOutcome(
                "The request was sent but no answer came within the time-out."
            ) from exc
        except requests.exceptions.ConnectionError as exc:
            if _never_connected(exc):
                raise ProviderTransientError(f"Could not connect to {shown_url}.") from exc
            raise ProviderUnknownOutcome(
                "The connection dropped after the request was sent."
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise ProviderUnknownOutcome(f"The HTTP call failed: {type(exc).__name__}.") from exc
        finally:
            exchange.duration_ms = int((time.monotonic() - started) * 1000)

        exchange.http_status = response.status_code
        parsed = _json_or_none(text)
        if isinstance(parsed, dict | list):
            # Stored without any secret-looking key a provider may put in its answer.
            exchange.response = json.dumps(redact(parsed), ensure_ascii=False)[:MAX_STORED_RESPONSE]
        elif redact_response:
            exchange.response = REDACTED
        else:
            exchange.response = text[:MAX_STORED_RESPONSE]
        if response.is_redirect or 300 <= response.status_code < 400:
            # Never followed: a POST turned into a GET elsewhere, or an internal address
            # fetched on a provider's say-so. The URL in the settings must be the final one.
            location = safe_url(response.headers.get("Location", ""))
            # Only a ticket request may have created something before it was redirected.
            refusal = ProviderRedirected if kind == "ticket" else ConfigurationError
            raise refusal(
                f"{shown_url} answered HTTP {response.status_code} redirecting to {location}; "
                "redirects are never followed: set the provider URL to the final address.",
                http_status=response.status_code,
            )
        return HttpReply(
            status=response.status_code,
            text=text,
            json=parsed,
            headers={key.lower(): value for key, value in response.headers.items()},
        )


def _read_body(response: requests.Response, *, deadline: float | None) -> str:
    """The whole answer, read as it arrives: given up past ``MAX_ANSWER_BYTES``, or past the
    forward's deadline (the call's thread then hangs up by itself instead of following a
    dripping answer to its end)."""
    body = bytearray()
    try:
        # read1: whatever has arrived, so that a byte a second still lets the deadline be seen.
        while piece := response.raw.read1(64 * 1024, decode_content=True):
            body += piece
            if len(body) > MAX_ANSWER_BYTES:
                raise ProviderUnknownOutcome(
                    f"The answer is larger than {MAX_ANSWER_BYTES // 1000} KB: not read. The "
                    "provider may have created the ticket."
                )
            if deadline is not None and time.monotonic() > deadline:
                raise DeadlinePassed
    except (ssl.SSLError, urllib3.exceptions.SSLError) as exc:
        # The request went out and the answer had begun: not a TLS set-up problem, but a call
        # whose outcome is unknown (the provider may have created the ticket).
        raise ProviderUnknownOutcome(
            f"The encrypted connection failed while the answer arrived: {type(exc).__name__}."
        ) from exc
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.exceptions.ReadTimeout(exc) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise requests.exceptions.ConnectionError(exc) from exc
    finally:
        response.close()
    return bytes(body).decode(response.encoding or "utf-8", errors="replace")


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

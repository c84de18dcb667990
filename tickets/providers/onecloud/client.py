"""OneCloud "Tiket - Create": bearer token, JSON or multipart body, ``ticketId`` back.

Settings (OPTIONS, else ``ONECLOUD_<NAME>``): ``url``, ``token`` (a fixed token), or ``token_url``
with ``username`` and ``password``; ``categories``; ``time_zone``. With the sandbox on and no
token settings, tokens come from the sandbox's token endpoint.
"""

import base64
import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext_lazy as _

from portal.env import env_list
from tickets.outbound.errors import (
    ConfigurationError,
    ProviderRateLimited,
    ProviderTokenExpired,
    ProviderTransientError,
    ProviderUnknownOutcome,
)
from tickets.outbound.http import Exchange, HttpReply
from tickets.providers.base import ProviderTicket, TicketProvider, TicketRequest
from tickets.providers.onecloud.forms import OneCloudForm
from tickets.providers.onecloud.sandbox import OneCloudSandbox
from tickets.statuses import ErrorClass

# Refresh a JWT this long before its ``exp``, so a token never expires in flight.
TOKEN_REFRESH_MARGIN_SECONDS = 60
# Keys under which a token endpoint may return the token (the token API is not documented).
TOKEN_KEYS = ("token", "access_token", "accessToken")
# OneCloud's clock: the quota window its message names ("18:00 - 06:00") is in this time zone.
DEFAULT_TIME_ZONE = "Asia/Jakarta"
DEFAULT_CATEGORIES = "Request,Question,Complaint,Problem"
# What the sandbox's token endpoint is asked with when no credentials are set.
SANDBOX_CREDENTIALS = "sandbox"
# A quota answer this soon after the window opened (by our clock) means OneCloud's clock is late.
QUOTA_CLOCK_SLACK = timedelta(minutes=15)
QUOTA_WINDOW = re.compile(
    r"(\d{1,2})[:.](\d{2})\s*(?:-|\u2013|to|s/d|sampai)\s*(\d{1,2})[:.](\d{2})"
)


class OneCloud(TicketProvider):
    label = "OneCloud"
    title = _("OneCloud support")
    summary = _(
        "Questions, requests, complaints or problems with your OneCloud service. "
        "Add a picture or a document if it helps explain."
    )
    sent_next_step = _("OneCloud's support team will reply to the e-mail address you gave.")
    ticket_number_label = _("Ticket number")
    form_class = OneCloudForm
    sandbox_class = OneCloudSandbox
    settings_prefix = "ONECLOUD"
    settings_help = {
        "token": "A fixed bearer token; without one, tokens are fetched from TOKEN_URL.",
        "token_url": "Where tokens are fetched with USERNAME and PASSWORD, e.g. "
        "https://onecloud.ciptadrasoft.net/api/token. Default with the sandbox on: the sandbox's.",
        "username": "The account tokens are fetched for.",
        "password": "That account's password.",
        "categories": f"The categories customers choose from, comma-separated; default: "
        f"{DEFAULT_CATEGORIES}.",
        "time_zone": f"The time zone of the quota window OneCloud's refusals name; default: "
        f"{DEFAULT_TIME_ZONE}.",
    }
    summary_field = "subject"
    map_center = (-6.2000, 106.8166)  # Jakarta
    customer_time_zone = "Asia/Jakarta"  # WIB

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.fixed_token: str = self.setting("token")
        self.token_url: str = self.setting("token_url")
        self.username: str = self.setting("username")
        self.password: str = self.setting("password")
        if self.sandbox_url and not (self.fixed_token or self.token_url):
            # The sandbox issues JWTs from its token endpoint, so the full token path is exercised.
            self.token_url = f"{self.sandbox_url}/api/token"
            self.username = self.username or SANDBOX_CREDENTIALS
            self.password = self.password or SANDBOX_CREDENTIALS
        # The categories customers choose from; the value sent is the configured word.
        self.categories: list[str] = list(
            self.setting("categories", default=DEFAULT_CATEGORIES, read=env_list)
        )
        self.time_zone: str = self.setting("time_zone", default=DEFAULT_TIME_ZONE)
        self._token: str | None = None
        self._token_lock = threading.Lock()

    # --- configuration --------------------------------------------------------------------
    def configuration_problems(self) -> list[str]:
        problems = super().configuration_problems()
        token, token_url = self.setting_name("token"), self.setting_name("token_url")
        if not self.fixed_token and not self.token_url:
            problems.append(f"Set {token}, or {token_url} with its credentials.")
        if self.token_url:
            if problem := self.url_problem(token_url, self.token_url):
                problems.append(problem)
            if not self.username or not self.password:
                problems.append(
                    f"{token_url} needs {self.setting_name('username')} and "
                    f"{self.setting_name('password')}."
                )
        if not self.categories:
            problems.append(f"{self.setting_name('categories')} is empty.")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                f"{self.setting_name('time_zone')} {self.time_zone!r} is not a known time zone."
            )
        return problems

    # --- token ----------------------------------------------------------------------------
    def auth_headers(self, exchanges: list[Exchange]) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._current_token(exchanges)}"}

    def _current_token(self, exchanges: list[Exchange], *, force_refresh: bool = False) -> str:
        if not self.token_url:
            if force_refresh:
                raise ConfigurationError(
                    f"The fixed {self.setting_name('token')} has expired; replace it or configure "
                    f"{self.setting_name('token_url')} so tokens are renewed automatically."
                )
            return self.fixed_token
        with self._token_lock:
            if force_refresh or not self._token or _jwt_expires_soon(self._token):
                self._token = self._fetch_token(exchanges)
            return self._token

    def _fetch_token(self, exchanges: list[Exchange]) -> str:
        reply = self.http.post(
            url=self.token_url,
            kind="token",
            headers={"Accept": "application/json"},
            exchanges=exchanges,
            json_body={"username": self.username, "password": self.password},
            redact_response=True,
        )
        if reply.status in (401, 403):
            raise ConfigurationError(
                f"The OneCloud token URL refused the credentials (HTTP {reply.status}).",
                http_status=reply.status,
            )
        if reply.status >= 500:
            # No ticket can come of a token request: a gateway's 502/504 is simply transient.
            raise ProviderTransientError(
                f"The OneCloud token URL failed (HTTP {reply.status}).", http_status=reply.status
            )
        token = _find_token(reply.json)
        if reply.status != 200 or not token:
            raise ConfigurationError(
                f"The OneCloud token URL answered HTTP {reply.status} without a token.",
                http_status=reply.status,
            )
        exchanges[-1].classify(ErrorClass.SUCCESS, "Token obtained.")
        return token

    # --- the ticket -----------------------------------------------------------------------
    def send(self, request: TicketRequest, exchanges: list[Exchange]) -> ProviderTicket:
        reply = self.post_ticket(request, exchanges, headers=self.auth_headers(exchanges))
        try:
            return self._parse_keeping_a_good_token(reply)
        except ProviderTokenExpired as exc:
            exchanges[-1].classify(exc.error_class, exc.message)
        # One immediate retry with a new token; a second "Expired token" is not retried again.
        headers = {"Authorization": f"Bearer {self._current_token(exchanges, force_refresh=True)}"}
        reply = self.post_ticket(request, exchanges, headers=headers)
        try:
            return self._parse_keeping_a_good_token(reply)
        except ProviderTokenExpired as exc:
            self._forget_token()
            raise ConfigurationError(
                "OneCloud called a freshly issued token expired: check the token settings.",
                http_status=reply.status,
            ) from exc

    def _parse_keeping_a_good_token(self, reply: HttpReply) -> ProviderTicket:
        try:
            return self.parse_reply(reply)
        except ConfigurationError:
            if reply.status == 401:
                # OneCloud refused the token itself (revoked, signed with an old key...): the
                # next forward must fetch a new one rather than be refused the same way forever.
                self._forget_token()
            raise

    def _forget_token(self) -> None:
        with self._token_lock:
            self._token = None

    def build_body(self, request: TicketRequest) -> dict[str, Any]:
        customer = request.fields
        fields = {
            "fullName": customer.get("name"),
            "contact": customer.get("email"),
            "subject": customer.get("subject"),
            "category": customer.get("category"),
            "content": customer.get("content"),
        }
        latitude, longitude = customer.get("latitude"), customer.get("longitude")
        if latitude is not None and longitude is not None:
            fields["coordinate"] = f"{latitude:.6f},{longitude:.6f}"
        fields = {key: value for key, value in fields.items() if value not in ("", None)}
        if not request.files:
            return {"json_body": fields}
        # JSON cannot carry files, so a request with files goes as multipart/form-data.
        return {
            "data": fields,
            "files": [(f.field, (f.filename, f.data, f.content_type)) for f in request.files],
        }

    def parse_reply(self, reply: HttpReply) -> ProviderTicket:
        body = reply.json if isinstance(reply.json, dict) else None
        if reply.status == 200:
            ticket_id = body.get("ticketId") if body else None
            if ticket_id in (None, "") or str(body.get("response_code", "200")) != "200":
                raise ProviderUnknownOutcome(
                    "OneCloud answered 200 without the documented ticketId.", http_status=200
                )
            return ProviderTicket(ticket_id=str(ticket_id), raw=body)
        if reply.status == 401:
            message = _user_message(body)
            lowered = message.lower()
            if "expired token" in lowered:
                raise ProviderTokenExpired("OneCloud: Expired token.", http_status=401)
            if "time limit" in lowered or "quota" in lowered:
                opens = quota_window_start(
                    message, now=datetime.now(UTC), time_zone=ZoneInfo(self.time_zone)
                )
                when = f" Next window opens {opens.isoformat()}." if opens else ""
                raise ProviderRateLimited(
                    f"OneCloud is over quota or outside its hours: {message}.{when}",
                    http_status=401,
                    not_before=opens,
                )
            raise ConfigurationError(
                f"OneCloud refused the token: {message or 'HTTP 401'}", http_status=401
            )
        raise self.error_for_status(reply, detail=_user_message(body) or reply.text[:200])


def quota_window_start(message: str, *, now: datetime, time_zone: ZoneInfo) -> datetime | None:
    """When the window named in OneCloud's quota message next opens, after ``now``, or None.

    "time limit reached please try again tomorrow at 18:00 - 06:00" names the hours in which
    OneCloud takes tickets, in its own time zone; the window may run past midnight. The next
    try goes at the next start of that window.
    """
    match = QUOTA_WINDOW.search(message)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    local_now = now.astimezone(time_zone)
    start = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if start <= local_now < start + QUOTA_CLOCK_SLACK:
        # Just after the window opened by our clock, yet OneCloud still says "later": its clock
        # is behind ours. Not worth a day's wait: the ordinary rate-limit back-off will do.
        return None
    if start <= local_now:
        start = (start.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=time_zone)
    return start.astimezone(UTC)


def _user_message(body: dict | None) -> str:
    records = body.get("records") if body else None
    if isinstance(records, dict):
        return str(records.get("userMessage") or "")
    return ""


def _find_token(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    for container in (body, body.get("data"), body.get("records")):
        if isinstance(container, dict):
            for key in TOKEN_KEYS:
                if isinstance(container.get(key), str) and container[key]:
                    return container[key]
    return ""


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, read without a signature check (none is possible here)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
        return float(claims["exp"])
    except (ValueError, KeyError, TypeError):
        return None


def _jwt_expires_soon(token: str) -> bool:
    expiry = jwt_expiry(token)
    return expiry is not None and expiry - time.time() < TOKEN_REFRESH_MARGIN_SECONDS

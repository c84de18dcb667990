"""StoreHub field service "Create Ticket API": nested Ticket/Appointment JSON, ErrorCode back.

Settings (OPTIONS, else ``STOREHUB_<NAME>``): ``url``, ``api_key``, and ``state_spellings`` (how
StoreHub spells a state where it differs from ours). With the sandbox on, the key defaults to
the sandbox's.
"""

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from portal.env import env_str
from tickets.outbound.errors import (
    AccountError,
    ConfigurationError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTransientError,
    ProviderUnknownOutcome,
)
from tickets.outbound.http import Exchange, HttpReply
from tickets.providers.base import ProviderTicket, TicketProvider, TicketRequest
from tickets.providers.storehub.forms import StoreHubForm
from tickets.providers.storehub.sandbox import StoreHubSandbox

SANDBOX_API_KEY = "tk_sandbox"

ERROR_CODES: dict[str, tuple[type[Exception], str]] = {
    "-10000": (ProviderRejected, "Invalid parameter"),
    "-10001": (ConfigurationError, "Invalid passcode"),
    "-10002": (ConfigurationError, "Invalid IP"),
    "-10003": (ConfigurationError, "Invalid auth code"),
    "-10004": (ProviderRateLimited, "Too many request"),
    "-10005": (AccountError, "User banned"),
    "-10006": (ProviderTransientError, "Network failure"),
    "-10007": (ConfigurationError, "Invalid authorization"),
    "-10008": (ProviderTransientError, "Unexpected error"),
    "-10009": (ProviderTransientError, "Http request fail"),
    "-10010": (ConfigurationError, "Invalid session"),
    "-10011": (AccountError, "User not found"),
    "-10012": (AccountError, "Invalid license"),
    "-10013": (ProviderRejected, "File not found"),
    "-10014": (ConfigurationError, "Invalid onsites API key"),
    "-10015": (ConfigurationError, "Session expired"),
    "-10016": (AccountError, "Account expired"),
}


class StoreHub(TicketProvider):
    label = "StoreHub"
    title = _("StoreHub on-site service")
    summary = _(
        "Book a technician to come to your shop: hardware installation, an inspection before "
        "installing, troubleshooting or a POS swap."
    )
    sent_next_step = _(
        "StoreHub's field-service team will contact you by phone to arrange the visit."
    )
    ticket_number_label = _("Ticket ID")
    form_class = StoreHubForm
    sandbox_class = StoreHubSandbox
    settings_prefix = "STOREHUB"
    settings_help = {
        "api_key": "The tk_... API key StoreHub issued. Default with the sandbox on: the "
        "sandbox's.",
        "state_spellings": "Where StoreHub spells a state differently: "
        "Kuala Lumpur=W.P. Kuala Lumpur;Labuan=W.P. Labuan (default: none).",
    }
    summary_field = "issue"
    map_center = (3.1390, 101.6869)  # Kuala Lumpur
    customer_time_zone = "Asia/Kuala_Lumpur"  # MYT

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.api_key: str = self.setting(
            "api_key", default=SANDBOX_API_KEY if self.sandbox_url else ""
        )
        self.state_spellings: dict[str, str] = self.setting(
            "state_spellings", default={}, read=env_state_spellings
        )

    def configuration_problems(self) -> list[str]:
        problems = super().configuration_problems()
        if not self.api_key:
            problems.append(f"{self.setting_name('api_key')} is not set.")
        return problems

    def auth_headers(self, exchanges: list[Exchange]) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def build_body(self, request: TicketRequest) -> dict[str, Any]:
        spellings = self.state_spellings
        customer = request.fields
        priority = customer.get("priority")
        ticket = {
            "Name": customer.get("name"),
            "Phone": customer.get("phone"),
            "Issue": customer.get("issue"),
            "Priority": int(priority if priority is not None else 0),
            "IsReceiveSms": bool(customer.get("receive_sms")),
            "Email": customer.get("email"),
            "Remark": customer.get("remark"),
            "StoreName": customer.get("store_name"),
            "DealerReseller": customer.get("dealer_reseller"),
        }
        state = customer.get("state")
        appointment = {
            "Address": customer.get("address"),
            "State": spellings.get(state, state),
            "ServiceId": customer.get("service_id"),
            # The document says "Integer" but its example is 101.7122: an integer degree is
            # ~100 km, so coordinates go as numbers with their decimals.
            "Longitude": _coordinate(customer.get("longitude")),
            "Latitude": _coordinate(customer.get("latitude")),
        }
        optional = {"Email", "Remark", "StoreName", "DealerReseller"}
        ticket = {k: v for k, v in ticket.items() if not (k in optional and v in ("", None))}
        return {"json_body": {"Ticket": ticket, "Appointment": appointment}}

    def parse_reply(self, reply: HttpReply) -> ProviderTicket:
        body = reply.json if isinstance(reply.json, dict) else None
        code = _error_code(body)
        if code is None:
            # No documented body: fall back on the HTTP status.
            raise self.error_for_status(reply)
        # StoreHub's failure status is undocumented: trust ErrorCode, not the HTTP status.
        if code == "0":
            ticket = body.get("Ticket") if body else None
            if not isinstance(ticket, dict) or ticket.get("TicketId") in (None, ""):
                raise ProviderUnknownOutcome(
                    "StoreHub reported success without a Ticket.", http_status=reply.status
                )
            return ProviderTicket(
                ticket_id=str(ticket["TicketId"]),
                case_number=str(ticket.get("CaseNum") or ""),
                raw=ticket,
            )
        error_type, description = ERROR_CODES.get(code, (ProviderUnknownOutcome, "Unknown code"))
        message = (body or {}).get("ErrorMessage") or description
        if error_type is ProviderRateLimited:
            raise ProviderRateLimited.from_reply(f"StoreHub error {code}: {message}", reply)
        raise error_type(f"StoreHub error {code}: {message}", http_status=reply.status)


def _error_code(body: dict | None) -> str | None:
    """``ErrorCode`` as a canonical string; it may arrive as a string or a number."""
    if not body or "ErrorCode" not in body:
        return None
    raw = body["ErrorCode"]
    try:
        return str(int(str(raw).strip()))
    except ValueError:
        return str(raw)


def _coordinate(value) -> float | None:
    return None if value is None else round(float(value), 6)


def env_state_spellings(variable: str, default: dict[str, str]) -> dict[str, str]:
    try:
        return parse_state_spellings(env_str(variable)) or default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{variable} {exc}") from exc


def parse_state_spellings(raw: str) -> dict[str, str]:
    """``"Kuala Lumpur=W.P. Kuala Lumpur;Labuan=W.P. Labuan"`` into a mapping."""
    spellings = {}
    for pair in filter(None, (item.strip() for item in raw.split(";"))):
        state, sep, spelling = pair.partition("=")
        if not sep or not state.strip() or not spelling.strip():
            raise ValueError(f"entries look like 'Kuala Lumpur=W.P. Kuala Lumpur', not {pair!r}.")
        spellings[state.strip()] = spelling.strip()
    return spellings

"""StoreHub's fake endpoint for the sandbox (``tickets.sandbox.server``), mounted at ``/<alias>/``.

    POST api/ticket/create    "Create Ticket API"

Outcomes of its own, besides the shared ones: any documented ErrorCode such as -10004,
optionally with an HTTP status (-10004@429), success_numeric (ErrorCode as the number 0) and
success_nul (a NUL character in the ticket).
"""

import json
import secrets
from typing import Any

from tickets.sandbox.server import SandboxEndpoints

ERRORS = {
    "-10000": "Invalid parameter",
    "-10001": "Invalid passcode",
    "-10002": "Invalid IP",
    "-10003": "Invalid auth code",
    "-10004": "Too many request",
    "-10005": "User banned",
    "-10006": "Network failure",
    "-10007": "Invalid authorization",
    "-10008": "Unexpected error",
    "-10009": "Http request fail",
    "-10010": "Invalid session",
    "-10011": "User not found",
    "-10012": "Invalid license",
    "-10013": "File not found",
    "-10014": "Invalid onsites API key",
    "-10015": "Session expired",
    "-10016": "Account expired",
}
TICKET_LIMITS = {
    "Name": 100,
    "Phone": 16,
    "Issue": 500,
    "Email": 100,
    "Remark": 1000,
    "StoreName": 100,
    "DealerReseller": 50,
}
APPOINTMENT_LIMITS = {"Address": 500, "State": 50}
SERVICES = {1, 2, 3, 18, 23, 39}


class StoreHubSandbox(SandboxEndpoints):
    routes = {"api/ticket/create": "create"}

    def reset(self) -> None:
        with self.lock:
            self.next_ticket = 999

    @classmethod
    def portal_options(cls, base_url: str) -> dict[str, Any]:
        return {"url": base_url, "api_key": "tk_test_key_123456"}

    def create(self, handler, raw: bytes) -> None:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        outcome = self.next_outcome(handler, raw)
        entry = self.record(handler, body, outcome)
        if handler.common_faults(outcome):
            return
        code, _, status = outcome.partition("@")
        if code in ERRORS:
            handler.send(int(status or 200), {"ErrorCode": code, "ErrorMessage": ERRORS[code]})
            return
        if not handler.headers.get("Authorization", "").startswith("Bearer tk_"):
            handler.send(200, {"ErrorCode": "-10014", "ErrorMessage": ERRORS["-10014"]})
            return
        problem = _problem(body)
        if problem:
            handler.send(
                200, {"ErrorCode": "-10000", "ErrorMessage": f"Invalid parameter: {problem}"}
            )
            return
        with self.lock:
            self.next_ticket += 1
            ticket_id = self.next_ticket
        ticket = {
            "TicketId": ticket_id,
            "CaseNum": f"STOREHUB{ticket_id:04d}-CA{secrets.token_hex(3).upper()}",
            "Status": "Open\u0000" if code == "success_nul" else "Open",
        }
        entry["ticket"] = ticket
        error_code: Any = 0 if code == "success_numeric" else "0"
        handler.send(200, {"ErrorCode": error_code, "Ticket": ticket})


def _problem(body: Any) -> str:
    """What is wrong with a StoreHub body by the document's table, or ""."""
    if not isinstance(body, dict):
        return "body is not a JSON object"
    ticket, appointment = body.get("Ticket"), body.get("Appointment")
    if not isinstance(ticket, dict) or not isinstance(appointment, dict):
        return "Ticket and Appointment are required"
    for key in ("Name", "Phone", "Issue"):
        if not isinstance(ticket.get(key), str) or not ticket[key]:
            return f"Ticket.{key} is required"
    for key, limit in TICKET_LIMITS.items():
        if key in ticket and (not isinstance(ticket[key], str) or len(ticket[key]) > limit):
            return f"Ticket.{key} must be a string of at most {limit}"
    if ticket.get("Priority") not in (-1, 0, 1) or isinstance(ticket.get("Priority"), bool):
        return "Ticket.Priority must be -1, 0 or 1"
    if not isinstance(ticket.get("IsReceiveSms"), bool):
        return "Ticket.IsReceiveSms must be a boolean"
    for key, limit in APPOINTMENT_LIMITS.items():
        value = appointment.get(key)
        if not isinstance(value, str) or not value or len(value) > limit:
            return f"Appointment.{key} is required, at most {limit}"
    if appointment.get("ServiceId") not in SERVICES:
        return "Appointment.ServiceId is not a known service"
    for key, bound in (("Latitude", 90), ("Longitude", 180)):
        value = appointment.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool) or abs(value) > bound:
            return f"Appointment.{key} must be a number within ±{bound}"
    return ""

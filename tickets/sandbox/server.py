"""A fake of both providers that speaks their documented contracts over real HTTP.

It runs beside the portal in development (``manage.py run_sandbox``) and inside the tests, which
script it to answer with any documented error, to hang, to drop the connection or to send junk.
It needs no Django, so a test can start one on a free loopback port in a thread.

Paths (the portal's ``*_URL`` is ``http://host:port/onecloud`` or ``.../storehub``):
    POST /onecloud/api/token            {"username", "password"} -> {"token": "<JWT>"}
    POST /onecloud/api/ticket/create    OneCloud "Tiket - Create"
    POST /storehub/api/ticket/create    StoreHub "Create Ticket API"
    POST /_sandbox/script               {"provider": "storehub", "outcomes": ["-10004", "drop"]}
    GET  /_sandbox/requests             every ticket request received, newest last
    POST /_sandbox/reset                forget scripts, requests and tickets

Outcomes, used once each in order, then "success" again:
    success | drop | hang[:seconds] | nonjson | 500 | 502 | 503 (any 5xx)
    OneCloud: expired_token | quota | 400 | 403 | 429
    StoreHub: any documented ErrorCode such as -10004, optionally "@status" (-10004@429),
              success_numeric (ErrorCode as the number 0)
A customer can also put ``[sandbox:<outcome>]`` in a text field to demo an outcome by hand.
"""

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections import deque
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

JWT_SECRET = b"sandbox-only-signing-key"
MAGIC_OUTCOME = re.compile(r"\[sandbox:([\w@.:-]+)\]")

STOREHUB_ERRORS = {
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
STOREHUB_TICKET_LIMITS = {
    "Name": 100,
    "Phone": 16,
    "Issue": 500,
    "Email": 100,
    "Remark": 1000,
    "StoreName": 100,
    "DealerReseller": 50,
}
STOREHUB_APPOINTMENT_LIMITS = {"Address": 500, "State": 50}
STOREHUB_SERVICES = {1, 2, 3, 18, 23, 39}
ONECLOUD_REQUIRED = ("fullName", "contact", "subject", "category", "content")


class SandboxState:
    """What the sandbox has been told and what it has seen; shared by all handler threads."""

    def __init__(self, token_lifetime: float = 3600) -> None:
        self.lock = threading.Lock()
        self.token_lifetime = token_lifetime
        self.reset()

    def reset(self) -> None:
        with getattr(self, "lock", threading.Lock()):
            self.scripts: dict[str, deque[str]] = {"onecloud": deque(), "storehub": deque()}
            self.requests: list[dict[str, Any]] = []
            self.tokens_issued = 0
            self.next_onecloud_ticket = 515090
            self.next_storehub_ticket = 999

    def script(self, provider: str, outcomes: list[str]) -> None:
        with self.lock:
            self.scripts[provider].extend(outcomes)

    def next_outcome(self, provider: str, body: bytes) -> str:
        with self.lock:
            if self.scripts[provider]:
                return self.scripts[provider].popleft()
        match = MAGIC_OUTCOME.search(body.decode("utf-8", "replace"))
        return match.group(1) if match else "success"

    def issue_token(self) -> str:
        with self.lock:
            self.tokens_issued += 1
            serial = self.tokens_issued
        now = int(time.time())
        claims = {
            "iss": "sandbox.onecloud",
            "sub": "55",
            "exp": now + int(self.token_lifetime),
            "nbf": now,
            "iat": now,
            "jti": secrets.token_urlsafe(12),
            "sid": str(serial),
        }
        return make_jwt(claims)

    def created(self, provider: str) -> list[dict[str, Any]]:
        """Requests that created a ticket."""
        with self.lock:
            return [r for r in self.requests if r["provider"] == provider and r.get("ticket")]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(claims: dict[str, Any]) -> str:
    header = _b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(JWT_SECRET, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def read_jwt(token: str) -> dict[str, Any] | None:
    try:
        header, payload, signature = token.split(".")
        expected = hmac.new(JWT_SECRET, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(_b64(expected), signature):
            return None
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None


class SandboxHandler(BaseHTTPRequestHandler):
    server: "SandboxServer"
    protocol_version = "HTTP/1.1"
    # Buffer each answer and send it in one write: headers and body in separate small writes
    # meet Nagle's algorithm and delayed ACKs, and every call would wait ~40 ms on loopback.
    wbufsize = -1

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # --- plumbing -------------------------------------------------------------------------
    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        # Close the socket without a byte of answer, as a crashed proxy would.
        self.close_connection = True
        self.connection.close()

    def _common_faults(self, outcome: str) -> bool:
        """Handle outcomes both providers share; True when the answer has been given."""
        if outcome == "drop":
            self._drop()
            return True
        if outcome.startswith("hang"):
            _, _, seconds = outcome.partition(":")
            time.sleep(float(seconds or 30))
            self._drop()
            return True
        if outcome == "nonjson":
            self._send(200, b"<html><body>Gateway says hello</body></html>", "text/html")
            return True
        if outcome.isdigit() and int(outcome) >= 500:
            self._send(int(outcome), b"Internal Server Error", "text/plain")
            return True
        return False

    # --- routing --------------------------------------------------------------------------
    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/_sandbox/requests":
            with self.server.state.lock:
                self._send(200, self.server.state.requests)
            return
        self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self._body()
        routes = {
            "/onecloud/api/token": self._onecloud_token,
            "/onecloud/api/ticket/create": self._onecloud_create,
            "/storehub/api/ticket/create": self._storehub_create,
            "/_sandbox/script": self._script,
            "/_sandbox/reset": self._reset,
        }
        handler = routes.get(path)
        if handler is None:
            self._send(404, {"error": "not found"})
            return
        handler(body)

    def _script(self, body: bytes) -> None:
        order = json.loads(body or b"{}")
        self.server.state.script(order["provider"], list(order["outcomes"]))
        self._send(200, {"ok": True})

    def _reset(self, body: bytes) -> None:
        self.server.state.reset()
        self._send(200, {"ok": True})

    def _record(self, provider: str, body: dict[str, Any], outcome: str) -> dict[str, Any]:
        entry = {
            "provider": provider,
            "content_type": self.headers.get("Content-Type", ""),
            "authorization": self.headers.get("Authorization", ""),
            "body": body,
            "outcome": outcome,
            "ticket": None,
        }
        with self.server.state.lock:
            self.server.state.requests.append(entry)
        return entry

    # --- OneCloud -------------------------------------------------------------------------
    def _onecloud_token(self, body: bytes) -> None:
        try:
            credentials = json.loads(body or b"{}")
        except ValueError:
            credentials = {}
        if not credentials.get("username") or not credentials.get("password"):
            self._send(401, _onecloud_error("Invalid username or password"))
            return
        self._send(200, {"token": self.server.state.issue_token(), "token_type": "Bearer"})

    def _onecloud_create(self, raw: bytes) -> None:
        state = self.server.state
        fields = _parse_onecloud_body(self.headers.get("Content-Type", ""), raw)
        outcome = state.next_outcome("onecloud", raw)
        entry = self._record("onecloud", fields, outcome)
        if self._common_faults(outcome):
            return
        token = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        claims = read_jwt(token) if token.count(".") == 2 else None
        if outcome == "expired_token" or (claims and claims.get("exp", 0) < time.time()):
            self._send(401, _onecloud_error("Expired token", dev_message=None))
            return
        if not token or (token.count(".") == 2 and claims is None):
            self._send(401, _onecloud_error("Invalid token"))
            return
        if outcome == "quota":
            self._send(
                401,
                _onecloud_error("time limit reached please try again tomorrow at 18:00 - 06:00"),
            )
            return
        if outcome.isdigit():
            self._send(int(outcome), _onecloud_error(f"Sandbox answered {outcome}"))
            return
        missing = [key for key in ONECLOUD_REQUIRED if not fields.get(key)]
        if missing:
            self._send(400, _onecloud_error(f"Missing parameter: {', '.join(missing)}"))
            return
        with state.lock:
            state.next_onecloud_ticket += 1
            ticket_id = str(state.next_onecloud_ticket)
            entry["ticket"] = ticket_id
        self._send(
            200, {"response_code": "200", "response_status": "Success", "ticketId": ticket_id}
        )

    # --- StoreHub -------------------------------------------------------------------------
    def _storehub_create(self, raw: bytes) -> None:
        state = self.server.state
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        outcome = state.next_outcome("storehub", raw)
        entry = self._record("storehub", body, outcome)
        if self._common_faults(outcome):
            return
        code, _, status = outcome.partition("@")
        if code in STOREHUB_ERRORS:
            self._send(
                int(status or 200), {"ErrorCode": code, "ErrorMessage": STOREHUB_ERRORS[code]}
            )
            return
        if not self.headers.get("Authorization", "").startswith("Bearer tk_"):
            self._send(200, {"ErrorCode": "-10014", "ErrorMessage": STOREHUB_ERRORS["-10014"]})
            return
        problem = _storehub_problem(body)
        if problem:
            self._send(
                200, {"ErrorCode": "-10000", "ErrorMessage": f"Invalid parameter: {problem}"}
            )
            return
        with state.lock:
            state.next_storehub_ticket += 1
            ticket_id = state.next_storehub_ticket
        ticket = {
            "TicketId": ticket_id,
            "CaseNum": f"STOREHUB{ticket_id:04d}-CA{secrets.token_hex(3).upper()}",
            "Status": "Open",
        }
        entry["ticket"] = ticket
        error_code: Any = 0 if code == "success_numeric" else "0"
        self._send(200, {"ErrorCode": error_code, "Ticket": ticket})


def _onecloud_error(message: str, dev_message: str | None = "") -> dict[str, Any]:
    return {
        "_meta": {"status": "ERROR", "count": 1},
        "records": {
            "errorCode": 401,
            "userMessage": message,
            "devMessage": dev_message,
            "more": None,
            "applicationCode": "" if dev_message is not None else None,
        },
    }


def _parse_onecloud_body(content_type: str, raw: bytes) -> dict[str, Any]:
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw
        )
        fields: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename():
                fields[name] = {
                    "filename": part.get_filename(),
                    "content_type": part.get_content_type(),
                    "size": len(payload),
                    "sha256": hashlib.sha256(payload).hexdigest(),
                }
            else:
                fields[name] = payload.decode("utf-8")
        return fields
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _storehub_problem(body: Any) -> str:
    """What is wrong with a StoreHub body by the document's table, or ""."""
    if not isinstance(body, dict):
        return "body is not a JSON object"
    ticket, appointment = body.get("Ticket"), body.get("Appointment")
    if not isinstance(ticket, dict) or not isinstance(appointment, dict):
        return "Ticket and Appointment are required"
    for key in ("Name", "Phone", "Issue"):
        if not isinstance(ticket.get(key), str) or not ticket[key]:
            return f"Ticket.{key} is required"
    for key, limit in STOREHUB_TICKET_LIMITS.items():
        if key in ticket and (not isinstance(ticket[key], str) or len(ticket[key]) > limit):
            return f"Ticket.{key} must be a string of at most {limit}"
    if ticket.get("Priority") not in (-1, 0, 1) or isinstance(ticket.get("Priority"), bool):
        return "Ticket.Priority must be -1, 0 or 1"
    if not isinstance(ticket.get("IsReceiveSms"), bool):
        return "Ticket.IsReceiveSms must be a boolean"
    for key, limit in STOREHUB_APPOINTMENT_LIMITS.items():
        value = appointment.get(key)
        if not isinstance(value, str) or not value or len(value) > limit:
            return f"Appointment.{key} is required, at most {limit}"
    if appointment.get("ServiceId") not in STOREHUB_SERVICES:
        return "Appointment.ServiceId is not a known service"
    for key, bound in (("Latitude", 90), ("Longitude", 180)):
        value = appointment.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool) or abs(value) > bound:
            return f"Appointment.{key} must be a number within ±{bound}"
    return ""


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], *, verbose: bool = False, **state_options) -> None:
        super().__init__(address, SandboxHandler)
        self.state = SandboxState(**state_options)
        self.verbose = verbose

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def start_in_thread(host: str = "127.0.0.1", port: int = 0, **options) -> SandboxServer:
    """A sandbox on a free port, serving from a daemon thread; call ``shutdown()`` to stop it."""
    server = SandboxServer((host, port), **options)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox", daemon=True
    ).start()
    return server

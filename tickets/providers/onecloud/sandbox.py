"""OneCloud's fake endpoints for the sandbox (``tickets.sandbox.server``), mounted at ``/<alias>/``.

    POST api/token            {"username", "password"} -> {"token": "<JWT>"}
    POST api/ticket/create    "Tiket - Create", JSON or multipart

Outcomes of its own, besides the shared ones: expired_token | quota | 400 | 403 | 429.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from tickets.sandbox.server import SandboxEndpoints, body_fields

JWT_SECRET = b"sandbox-only-signing-key"
REQUIRED = ("fullName", "contact", "subject", "category", "content")


class OneCloudSandbox(SandboxEndpoints):
    routes = {"api/token": "token", "api/ticket/create": "create"}
    token_lifetime: float = 3600

    def reset(self) -> None:
        with self.lock:
            self.tokens_issued = 0
            self.next_ticket = 515090

    @classmethod
    def portal_options(cls, base_url: str) -> dict[str, Any]:
        return {
            "url": base_url,
            "token": "",
            "token_url": f"{base_url}/api/token",
            "username": "portal",
            "password": "s3cret-password",
        }

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

    def token(self, handler, body: bytes) -> None:
        try:
            credentials = json.loads(body or b"{}")
        except ValueError:
            credentials = {}
        if not credentials.get("username") or not credentials.get("password"):
            handler.send(401, _error("Invalid username or password"))
            return
        handler.send(200, {"token": self.issue_token(), "token_type": "Bearer"})

    def create(self, handler, raw: bytes) -> None:
        fields = body_fields(handler.headers.get("Content-Type", ""), raw)
        outcome = self.next_outcome(handler, raw)
        entry = self.record(handler, fields, outcome)
        if handler.common_faults(outcome):
            return
        token = handler.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        claims = read_jwt(token) if token.count(".") == 2 else None
        if outcome == "expired_token" or (claims and claims.get("exp", 0) < time.time()):
            handler.send(401, _error("Expired token", dev_message=None))
            return
        if not token or (token.count(".") == 2 and claims is None):
            handler.send(401, _error("Invalid token"))
            return
        if outcome == "quota":
            handler.send(
                401, _error("time limit reached please try again tomorrow at 18:00 - 06:00")
            )
            return
        if outcome.isdigit():
            handler.send(int(outcome), _error(f"Sandbox answered {outcome}"))
            return
        missing = [key for key in REQUIRED if not fields.get(key)]
        if missing:
            handler.send(400, _error(f"Missing parameter: {', '.join(missing)}"))
            return
        with self.lock:
            self.next_ticket += 1
            ticket_id = str(self.next_ticket)
        entry["ticket"] = ticket_id
        handler.send(
            200, {"response_code": "200", "response_status": "Success", "ticketId": ticket_id}
        )


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


def _error(message: str, dev_message: str | None = "") -> dict[str, Any]:
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

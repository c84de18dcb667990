"""A fake of the WhatsApp Cloud API's messages endpoint, written from Meta's documents, for
``make run`` and the tests. Mounted at ``/whatsapp/`` of the sandbox server, so the portal's
``WHATSAPP_API_URL`` is ``http://host:port/whatsapp/v23.0``.

Outcomes, besides the sandbox's shared ones (drop, hang, 5xx...): ``success``, or any of Meta's
error codes below (``131026``, ``130429``, ``131056``, ``132001``, ``190``, ``131000``...),
answered as the Graph API does: ``{"error": {"message", "type", "code", "error_data",
"fbtrace_id"}}`` with its HTTP status; ``late:<code>`` takes the message, then reports it failed
with that code through the webhook. Every message it takes is listed at ``/_sandbox/whatsapp``.

Given a ``webhook_url`` and the ``app_secret`` (``run_sandbox`` gives the portal's), it calls
back as Meta does, signed: each message taken is reported sent, delivered and read.
"""

import html
import json
import re
import secrets
import threading
import time
from typing import Any

import requests

from tickets.delivery.whatsapp.templates import message_text, template_kind
from tickets.delivery.whatsapp.webhook import SIGNATURE_HEADER, sign
from tickets.sandbox.server import SandboxEndpoints

ERRORS: dict[str, tuple[int, str]] = {
    "100": (400, "Invalid parameter"),
    "131000": (500, "Something went wrong"),
    "131016": (503, "Service unavailable"),
    "131026": (400, "Message undeliverable"),
    "131031": (403, "Account has been locked"),
    "131047": (400, "Re-engagement message"),
    "131048": (400, "Spam rate limit hit"),
    "131056": (400, "(Business Account, Consumer Account) pair rate limit hit"),
    "130429": (429, "Rate limit hit"),
    "132000": (400, "Number of parameters does not match the expected number of params"),
    "132001": (404, "Template name does not exist in the translation"),
    "132015": (400, "Template is paused"),
    "133010": (400, "Phone number not registered"),
    "190": (401, "Error validating access token: Session has expired"),
}
MESSAGES_PATH = re.compile(r"^v\d+\.\d+/(?P<phone_number_id>\d+)/messages$")
# The portal's sandbox token (settings.WHATSAPP in DEBUG) and the tests'.
TOKEN_PREFIX = "sandbox-"  # noqa: S105  (not a secret: the sandbox takes any such token)


class WhatsAppSandbox(SandboxEndpoints):
    # Where and how to call back with statuses, as Meta's webhook does; None: no callbacks.
    webhook_url: str | None = None
    app_secret: str = ""
    # Seconds between one status and the next.
    callback_pace = 0.3

    def route(self, rest: str) -> str | None:
        return "messages" if MESSAGES_PATH.match(rest) else None

    def page(self) -> str:
        with self.lock:
            sent = list(self.sent)
        return whatsapp_page(sent)

    def reset(self) -> None:
        with self.lock:
            self.sent: list[dict[str, Any]] = []

    @classmethod
    def portal_options(cls, base_url: str) -> dict[str, Any]:
        return {
            "API_URL": f"{base_url}/v23.0",
            "PHONE_NUMBER_ID": "100200300400500",
            "ACCESS_TOKEN": f"{TOKEN_PREFIX}token-for-tests",
            "BUSINESS_NUMBER": "60300000000",
        }

    def messages(self, handler, raw: bytes) -> None:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        outcome = self.next_outcome(handler, raw)
        late_failure = outcome.removeprefix("late:") if outcome.startswith("late:") else None
        if late_failure:
            outcome = "success"
        entry = self.record(handler, body, outcome)
        # Meta's codes first: the shared faults take any number from 500 up as an HTTP status.
        if outcome in ERRORS:
            self._error(handler, int(outcome))
            return
        if handler.common_faults(outcome):
            return
        if not handler.headers.get("Authorization", "").startswith(f"Bearer {TOKEN_PREFIX}"):
            self._error(handler, 190)
            return
        problem = _problem(body)
        if problem:
            self._error(handler, 100, details=problem)
            return
        wamid = f"wamid.{secrets.token_urlsafe(24)}"
        entry["ticket"] = {"wamid": wamid}
        with self.lock:
            self.sent.append({"wamid": wamid, **body})
        if self.webhook_url:
            statuses = (
                [("failed", late_failure)]
                if late_failure
                else [
                    ("sent", None),
                    ("delivered", None),
                    ("read", None),
                ]
            )
            threading.Thread(
                target=self._call_back, args=(wamid, body["to"], statuses), daemon=True
            ).start()
        handler.send(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": wamid, "message_status": "accepted"}],
            },
        )

    def _call_back(self, wamid: str, to: str, statuses: list[tuple[str, str | None]]) -> None:
        for name, code in statuses:
            time.sleep(self.callback_pace)
            status: dict[str, Any] = {
                "id": wamid,
                "status": name,
                "timestamp": str(int(time.time())),
                "recipient_id": to,
            }
            if code:
                _, message = ERRORS.get(code, (400, "Error"))
                status["errors"] = [
                    {"code": int(code), "title": message, "error_data": {"details": message}}
                ]
            post_to_webhook(self.webhook_url, self.app_secret, {"statuses": [status]})

    @staticmethod
    def _error(handler, code: int, *, details: str = "") -> None:
        status, message = ERRORS[str(code)]
        handler.send(
            status,
            {
                "error": {
                    "message": f"(#{code}) {message}",
                    "type": "OAuthException",
                    "code": code,
                    "error_data": {"messaging_product": "whatsapp", "details": details or message},
                    "fbtrace_id": secrets.token_urlsafe(12),
                }
            },
        )


def webhook_payload(value: dict[str, Any]) -> dict[str, Any]:
    """A webhook delivery as Meta wraps one change of the messages field."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WHATSAPP_BUSINESS_ACCOUNT_ID",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "60312345678",
                                "phone_number_id": "100200300400500",
                            },
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def post_to_webhook(url: str, app_secret: str, value: dict[str, Any]) -> int | None:
    """POST one change to the portal's webhook, signed with the app secret as Meta signs."""
    body = json.dumps(webhook_payload(value)).encode()
    try:
        answer = requests.post(
            url,
            data=body,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, app_secret)},
            timeout=10,
        )
    except requests.RequestException:
        return None  # the portal is down: Meta would try again later; the sandbox does not
    return answer.status_code


def _as_read(template: dict[str, Any]) -> str:
    """A template message's text as the customer reads it; for a template the portal does not
    know, its name and values."""
    values = [
        parameter["text"]
        for component in template.get("components", [])
        if component.get("type") == "body"
        for parameter in component.get("parameters", [])
    ]
    kind = template_kind(template["name"])
    if kind is None:
        return f"{template['name']}: {', '.join(values)}"
    return message_text(kind, language=template["language"]["code"], parameters=values)


def _problem(body: Any) -> str:
    """What is wrong with a template message by Meta's reference, or ""."""
    if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
        return "messaging_product must be whatsapp"
    if not isinstance(body.get("to"), str) or not body["to"].isdigit():
        return "to must be a phone number in digits with its country code"
    template = body.get("template")
    if body.get("type") != "template" or not isinstance(template, dict):
        return "type must be template, with a template object"
    if not isinstance(template.get("name"), str) or not template["name"]:
        return "template.name is required"
    language = template.get("language")
    if not isinstance(language, dict) or not isinstance(language.get("code"), str):
        return "template.language.code is required"
    for component in template.get("components", []):
        for parameter in component.get("parameters", []):
            if parameter.get("type") != "text" or not isinstance(parameter.get("text"), str):
                return "body parameters must be text"
            if not parameter["text"].strip():
                return "a text parameter may not be empty"
    return ""


def whatsapp_page(sent: list[dict[str, Any]]) -> str:
    """The messages the portal sent, each as the customer reads it on the phone, in its
    language (the page around them is a development tool: English only)."""
    items = "".join(
        '<article><h2>{template} ({language})</h2><p><b>To:</b> +{to}</p><p lang="{language}" '
        'class="message">{text}</p></article><hr>'.format(
            template=html.escape(message["template"]["name"]),
            language=html.escape(message["template"]["language"]["code"]),
            to=html.escape(message["to"]),
            text=html.escape(_as_read(message["template"])),
        )
        for message in reversed(sent)
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Caught WhatsApp '
        "messages</title></head><body><h1>WhatsApp messages the portal sent (caught by the "
        "sandbox)</h1>"
        + (items or "<p>None yet. Send a request and tick the WhatsApp box.</p>")
        + "</body></html>"
    )

"""The WhatsApp Cloud API: ``POST /<version>/<phone-number-id>/messages`` with a template.

Every answer is classed as the ticket providers' are (``tickets.outbound.errors``), by Meta's
error code first and the HTTP status second, so the service decides what comes next the same
way: retry a transient failure or a rate limit, hold for a configuration error (an expired
token: only a person can fix it), give up at once when no retry can help (a number not on
WhatsApp, a template that does not exist).
"""

from typing import Any

from django.conf import settings

from tickets.outbound.errors import (
    AccountError,
    ConfigurationError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTransientError,
    ProviderUnknownOutcome,
    server_error,
)
from tickets.outbound.http import Exchange, HttpClient

# Meta's error codes (developers.facebook.com, WhatsApp Cloud API, "Error codes"), by what the
# portal does about them.
RATE_LIMIT_CODES = frozenset({4, 80007, 130429, 131048, 131056})
# No retry changes these: the number, the template or this message is wrong for good.
PERMANENT_CODES = frozenset(
    {
        100,  # invalid parameter
        131008,  # a required parameter is missing
        131009,  # a parameter value is not valid
        131021,  # the recipient is the sender
        131026,  # undeliverable: not on WhatsApp, or an old app
        131047,  # outside the 24-hour window (a template would not get this)
        131051,  # unsupported message type
        132000,  # wrong number of template parameters
        132001,  # no such template in that language
        132005,  # the translated text is too long
        132007,  # the template breaks a formatting policy
        132012,  # a parameter's format does not fit the template
        132015,  # the template is paused
        132016,  # the template is disabled
    }
)
ACCOUNT_CODES = frozenset({131031, 131042, 368})  # locked, payment, policy block
CONFIGURATION_CODES = frozenset({0, 3, 10, 190, 131030, 131045, 133010})
TRANSIENT_CODES = frozenset({1, 2, 131000, 131016})


class CloudApi:
    """One business phone number's messages endpoint."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = options or settings.WHATSAPP
        self.http = HttpClient(
            connect_timeout=self.options["CONNECT_TIMEOUT"],
            read_timeout=self.options["READ_TIMEOUT"],
        )

    @property
    def messages_url(self) -> str:
        return f"{self.options['API_URL'].rstrip('/')}/{self.options['PHONE_NUMBER_ID']}/messages"

    def send_template(
        self,
        *,
        to: str,
        template: str,
        language: str,
        parameters: list[str],
        exchanges: list[Exchange],
        copy_code: str | None = None,
    ) -> str:
        """Send one template message; Meta's message ID ("wamid....") on success.

        ``copy_code``: an authentication template's one-time code, which Meta wants again for
        its copy-code button. Raises a classified error (see the module's docstring); each call
        is in ``exchanges``.
        """
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "template",
            "template": {
                "name": template,
                "language": {"code": language},
                "components": [
                    {
                        "type": "body",
                        "parameters": [{"type": "text", "text": value} for value in parameters],
                    }
                ],
            },
        }
        if copy_code is not None:
            body["template"]["components"].append(
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": copy_code}],
                }
            )
        reply = self.http.post(
            url=self.messages_url,
            kind="message",
            headers={"Authorization": f"Bearer {self.options['ACCESS_TOKEN']}"},
            json_body=body,
            exchanges=exchanges,
        )
        answer = reply.json if isinstance(reply.json, dict) else {}
        if 200 <= reply.status < 300:
            messages = answer.get("messages")
            if isinstance(messages, list) and messages and isinstance(messages[0], dict):
                wamid = messages[0].get("id")
                if isinstance(wamid, str) and wamid:
                    return wamid
            raise ProviderUnknownOutcome(
                f"WhatsApp: HTTP {reply.status} without a message ID; it may have been sent.",
                http_status=reply.status,
            )
        error = answer.get("error") if isinstance(answer.get("error"), dict) else {}
        raise classify(reply, error)


def classify(reply, error: dict[str, Any]) -> Exception:
    """The failure of an error answer to a send (an ``HttpReply`` and its ``error`` object)."""
    return failure_for(error, http_status=reply.status, retry_after=reply.retry_after_seconds())


def failure_for(
    error: dict[str, Any], *, http_status: int | None = None, retry_after: float | None = None
) -> Exception:
    """The failure class of one of Meta's error objects (``{"code", "message", "error_data"}``,
    from an answer or a webhook's failed status): by its code, then by the HTTP status."""
    raw = error.get("code")
    # Meta's codes are a few digits; anything else is no code (the column holds 31 bits).
    digits = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
    code = int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 9 else None
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    said = str(error.get("message") or error.get("title") or "")
    words = f"{said} ({details})" if details and str(details) not in said else said
    message = f"WhatsApp {code if code is not None else http_status}: {words or 'no message'}"
    failure: Exception
    if code in RATE_LIMIT_CODES or http_status == 429:
        failure = ProviderRateLimited(message, http_status=http_status, retry_after=retry_after)
    elif code in PERMANENT_CODES:
        failure = ProviderRejected(message, http_status=http_status)
    elif code in ACCOUNT_CODES:
        failure = AccountError(message, http_status=http_status)
    elif code in CONFIGURATION_CODES or 200 <= (code or 0) <= 299 or http_status in (401, 403):
        failure = ConfigurationError(message, http_status=http_status)
    elif code in TRANSIENT_CODES:
        failure = ProviderTransientError(message, http_status=http_status)
    elif http_status is not None and http_status >= 500:
        failure = server_error("WhatsApp", http_status)
    else:
        # An error Meta has not documented for this call: tried again, and given up after the
        # last try like any other.
        failure = ProviderTransientError(message, http_status=http_status)
    failure.meta_code = code
    return failure

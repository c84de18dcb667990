"""A fake of every ticket provider, speaking each one's documented contract over real HTTP.

It runs beside the portal in development (``manage.py run_sandbox``) and inside the tests, which
script it to answer with any documented error, to hang, to drop the connection or to send junk.
It needs no Django, so a test can start one on a free loopback port in a thread. Each provider's
package brings its own endpoints (``tickets/providers/<name>/sandbox.py``), mounted at
``/<alias>/``: the portal's URL for that provider is ``http://host:port/<alias>``.

Shared paths:
    POST /_sandbox/script               {"provider": "<alias>", "outcomes": ["503", "drop"]}
    GET  /_sandbox/requests             every ticket request received, newest last
    GET  /_sandbox/mail                 e-mails caught by ``run_sandbox``, newest first
    GET  /_sandbox/<alias>              a page of what those endpoints took, where they keep one
                                        (``/_sandbox/whatsapp``: the messages, newest first)
    POST /_sandbox/reset                forget scripts, requests and tickets

Outcomes, used once each in order, then "success" again. Every provider answers these:
    success | drop | hang[:seconds] | nonjson | 500 | 502 | 503 (any 5xx)
    nul | nuljson      an undocumented 200 holding a NUL character, as text or escaped in JSON
    huge               a 200 of 3 MB        drip[:seconds]  a 200 that arrives a byte at a time
    create_drop        create the ticket, then drop the connection without answering
    redirect:<url>     answer 307 with that Location (the portal must never follow it)
and each provider's module lists its own (documented error codes and replies). Any outcome may
end in modifiers: ``;retry-after=<seconds>`` adds that ``Retry-After`` header to the answer,
``;delay=<seconds>`` takes that long before doing anything (a slow provider that does answer).
A customer can also put ``[sandbox:<outcome>]`` in a text field to demo an outcome by hand.
"""

import email
import email.parser
import email.policy
import hashlib
import html
import json
import re
import threading
import time
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import urlsplit

HUGE_ANSWER_BYTES = 3_000_000
MAGIC_OUTCOME = re.compile(r"\[sandbox:([\w@.:-]+)\]")


class SandboxState:
    """What the sandbox has been told and what it has seen; shared by all handler threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.scripts: dict[str, deque[str]] = defaultdict(deque)
        self.requests: list[dict[str, Any]] = []
        self.mail: list[dict[str, str]] = []

    def reset(self) -> None:
        with self.lock:
            self.scripts.clear()
            self.requests.clear()

    def script(self, provider: str, outcomes: list[str]) -> None:
        with self.lock:
            self.scripts[provider].extend(outcomes)

    def next_outcome(self, provider: str, body: bytes) -> str:
        with self.lock:
            if self.scripts[provider]:
                return self.scripts[provider].popleft()
        match = MAGIC_OUTCOME.search(body.decode("utf-8", "replace"))
        return match.group(1) if match else "success"

    def created(self, provider: str) -> list[dict[str, Any]]:
        """Requests that created a ticket."""
        with self.lock:
            return [r for r in self.requests if r["provider"] == provider and r.get("ticket")]


class SandboxEndpoints:
    """One provider's fake endpoints. A provider's package subclasses it.

    ``routes`` maps a path below ``/<alias>/`` to the name of a method taking the request
    handler and the raw body. A method answers through the handler (``handler.send``), usually
    after ``handler.common_faults(outcome)`` has had its say.
    """

    routes: ClassVar[dict[str, str]] = {}

    def __init__(self, alias: str, state: SandboxState) -> None:
        self.alias = alias
        self.state = state
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget what this provider's endpoints have issued (tickets, tokens)."""

    def page(self) -> str | None:
        """A page of what these endpoints took, served at ``/_sandbox/<alias>``; None: none."""
        return None

    def route(self, rest: str) -> str | None:
        """The method that answers a POST to ``/<alias>/<rest>``, by name."""
        return self.routes.get(rest)

    @classmethod
    def portal_options(cls, base_url: str) -> dict[str, Any]:
        """The provider's OPTIONS that point it at this sandbox mounted at ``base_url``."""
        return {"url": base_url}

    def next_outcome(self, handler: "SandboxHandler", raw: bytes) -> str:
        """The outcome for this request; the modifiers every provider shares are applied to the
        handler here, so a provider's endpoint sees only the outcome itself."""
        outcome, *modifiers = self.state.next_outcome(self.alias, raw).split(";")
        for modifier in modifiers:
            name, _, value = modifier.partition("=")
            if name.strip() == "retry-after":
                handler.extra_headers["Retry-After"] = value.strip()
            elif name.strip() == "delay":
                time.sleep(float(value))
        if outcome == "create_drop":
            handler.drop_instead_of_answer = True
            return "success"
        return outcome

    def record(self, handler: "SandboxHandler", body: Any, outcome: str) -> dict[str, Any]:
        entry = {
            "provider": self.alias,
            "content_type": handler.headers.get("Content-Type", ""),
            "authorization": handler.headers.get("Authorization", ""),
            # Every header as sent, for a provider whose credential goes in one of its own.
            "headers": dict(handler.headers),
            "body": body,
            "outcome": outcome,
            "ticket": None,
        }
        with self.state.lock:
            self.state.requests.append(entry)
        return entry


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

    def setup(self) -> None:
        super().setup()
        self._fresh_request()

    def _fresh_request(self) -> None:
        # One handler serves every request of a kept-alive connection: nothing carries over.
        self.extra_headers: dict[str, str] = {}
        # create_drop: the provider does its work, then the answer is lost on the way back.
        self.drop_instead_of_answer = False

    def send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        if self.drop_instead_of_answer:
            self.drop()
            return
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def drip(self, seconds: float) -> None:
        """An answer that arrives a byte at a time, for ``seconds``: every read is quick, the
        whole never ends in time."""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(int(seconds * 10) + 1))
        self.end_headers()
        ends = time.monotonic() + seconds
        try:
            while time.monotonic() < ends:
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass  # the portal hung up: what it should do at its deadline
        self.close_connection = True

    def drop(self) -> None:
        # Close the socket without a byte of answer, as a crashed proxy would.
        self.close_connection = True
        self.connection.close()

    def common_faults(self, outcome: str) -> bool:
        """Handle the outcomes every provider shares; True when the answer has been given."""
        if outcome == "drop":
            self.drop()
            return True
        if outcome.startswith("hang"):
            _, _, seconds = outcome.partition(":")
            time.sleep(float(seconds or 30))
            self.drop()
            return True
        if outcome.startswith("redirect:"):
            self.send_response(307)
            self.send_header("Location", outcome.removeprefix("redirect:"))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True
        if outcome == "nonjson":
            self.send(200, b"<html><body>Gateway says hello</body></html>", "text/html")
            return True
        if outcome == "huge":
            self.send(200, b"x" * HUGE_ANSWER_BYTES, "text/plain")
            return True
        if outcome.startswith("drip"):
            _, _, seconds = outcome.partition(":")
            self.drip(float(seconds or 30))
            return True
        if outcome == "nul":
            self.send(200, b"Gateway\x00says hello", "text/plain")
            return True
        if outcome == "nuljson":
            self.send(200, {"message": "Gateway\u0000says hello"})
            return True
        if outcome.isdigit() and int(outcome) >= 500:
            self.send(int(outcome), b"Internal Server Error", "text/plain")
            return True
        return False

    # --- routing --------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._fresh_request()
        if urlsplit(self.path).path == "/_sandbox/requests":
            with self.server.state.lock:
                self.send(200, self.server.state.requests)
            return
        endpoints = self.server.endpoints.get(urlsplit(self.path).path.removeprefix("/_sandbox/"))
        page = endpoints.page() if endpoints else None
        if page is not None:
            self.send(200, page.encode(), "text/html; charset=utf-8")
            return
        if urlsplit(self.path).path == "/_sandbox/mail":
            with self.server.state.lock:
                caught = list(reversed(self.server.state.mail))
            self.send(200, mail_page(caught).encode(), "text/html; charset=utf-8")
            return
        self.send(404, {"error": "not found"})

    def do_POST(self) -> None:
        self._fresh_request()
        path = urlsplit(self.path).path
        body = self._body()
        if path == "/_sandbox/script":
            order = json.loads(body or b"{}")
            self.server.state.script(order["provider"], list(order["outcomes"]))
            self.send(200, {"ok": True})
            return
        if path == "/_sandbox/reset":
            self.server.reset()
            self.send(200, {"ok": True})
            return
        alias, _, rest = path.strip("/").partition("/")
        endpoints = self.server.endpoints.get(alias)
        method = endpoints and endpoints.route(rest)
        if not method:
            self.send(404, {"error": "not found"})
            return
        getattr(endpoints, method)(self, body)


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        endpoints: dict[str, type[SandboxEndpoints]],
        verbose: bool = False,
    ) -> None:
        super().__init__(address, SandboxHandler)
        self.state = SandboxState()
        self.endpoints = {alias: cls(alias, self.state) for alias, cls in endpoints.items()}
        self.verbose = verbose

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def reset(self) -> None:
        self.state.reset()
        for endpoints in self.endpoints.values():
            endpoints.reset()

    def mail_handler(self):
        """An aiosmtpd handler that keeps each message for the /_sandbox/mail page."""
        state = self.state

        class Catcher:
            async def handle_DATA(self, server, session, envelope) -> str:
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                body = message.get_body(preferencelist=("plain",))
                with state.lock:
                    state.mail.append(
                        {
                            "to": ", ".join(envelope.rcpt_tos),
                            "subject": str(message["Subject"]),
                            "date": str(message["Date"]),
                            "text": body.get_content() if body else "",
                        }
                    )
                return "250 OK"

        return Catcher()


def mail_page(caught: list[dict[str, str]]) -> str:
    """The caught e-mails as a plain page (a development tool: English only)."""
    items = "".join(
        "<article><h2>{subject}</h2><p><b>To:</b> {to} &middot; {date}</p><pre>{text}</pre>"
        "</article><hr>".format(**{key: html.escape(value) for key, value in mail.items()})
        for mail in caught
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Caught e-mails'
        "</title></head><body><h1>E-mails the portal sent (caught by the sandbox)</h1>"
        + (items or "<p>None yet. Send a request with an e-mail address.</p>")
        + "</body></html>"
    )


def start_in_thread(
    *, endpoints: dict[str, type[SandboxEndpoints]], host: str = "127.0.0.1", port: int = 0, **kw
) -> SandboxServer:
    """A sandbox on a free port, serving from a daemon thread; call ``shutdown()`` to stop it."""
    server = SandboxServer((host, port), endpoints=endpoints, **kw)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox", daemon=True
    ).start()
    return server


def body_fields(content_type: str, raw: bytes) -> dict[str, Any]:
    """A request's body as its fields: a JSON object's, or a multipart form's with each file as
    its name, type, size and SHA-256 (what a test compares with what the customer sent)."""
    if content_type.startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
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

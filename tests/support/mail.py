"""A real SMTP server on loopback (aiosmtpd), for the e-mail tests and nothing else."""

import email
import email.policy
import socket
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope


@dataclass
class CaughtMail:
    to: list[str]
    subject: str
    text: str
    html: str
    headers: dict[str, str]


@dataclass
class MailCatcher:
    """Keeps every message; ``refuse_next`` makes the next deliveries fail with a 451 (a busy
    server), ``unknown_addresses`` are refused for good with a 550 (no such mailbox)."""

    messages: list[CaughtMail] = field(default_factory=list)
    refuse_next: int = 0
    unknown_addresses: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server, session, envelope: Envelope, address, rcpt_options):
        if address in self.unknown_addresses:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope: Envelope) -> str:
        if self.refuse_next:
            self.refuse_next -= 1
            return "451 4.3.0 Mail server busy, try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        self.messages.append(
            CaughtMail(
                to=list(envelope.rcpt_tos),
                subject=str(message["Subject"]),
                text=text.get_content() if text else "",
                html=html.get_content() if html else "",
                headers={key: str(value) for key, value in message.items()},
            )
        )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_smtp_server() -> tuple[Controller, MailCatcher]:
    catcher = MailCatcher()
    controller = Controller(catcher, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller, catcher

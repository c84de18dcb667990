"""The interface every ticket provider implements, and the plain data it takes and returns."""

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from .errors import ConfigurationError, ProviderError
from .http import Exchange, HttpClient, HttpReply

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileUpload:
    field: str  # the provider's part name: "attachment" or "file"
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class TicketRequest:
    """What the customer asked for, independent of any provider's wire format."""

    reference: str
    name: str
    email: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    # OneCloud
    subject: str = ""
    category: str = ""
    content: str = ""
    files: tuple[FileUpload, ...] = ()
    # StoreHub
    phone: str = ""
    issue: str = ""
    priority: int | None = None
    receive_sms: bool | None = None
    remark: str = ""
    store_name: str = ""
    dealer_reseller: str = ""
    address: str = ""
    state: str = ""
    service_id: int | None = None


@dataclass
class ProviderTicket:
    """A created ticket: the numbers to show the customer and the provider's whole answer."""

    ticket_id: str
    case_number: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    exchanges: list[Exchange] = field(default_factory=list)


@dataclass(frozen=True)
class ProviderSettings:
    url: str
    connect_timeout: float
    read_timeout: float
    options: dict[str, Any] = field(default_factory=dict)


class TicketProvider(ABC):
    """Runs the steps of a send; each provider fills in the hooks.

    ``create_ticket`` returns a ``ProviderTicket`` or raises a ``ProviderError`` or a
    ``ConfigurationError``; either way every HTTP call made is in ``exchanges``.
    """

    name: ClassVar[str]
    create_path: ClassVar[str] = "/api/ticket/create"

    def __init__(self, config: ProviderSettings) -> None:
        self.config = config
        self.http = HttpClient(
            connect_timeout=config.connect_timeout, read_timeout=config.read_timeout
        )

    @property
    def create_url(self) -> str:
        return self.config.url.rstrip("/") + self.create_path

    def configuration_problems(self) -> list[str]:
        """Plain sentences naming each missing or malformed setting."""
        problems = []
        url = self.config.url
        if not url:
            problems.append(f"{self.name.upper()}_URL is not set.")
        elif not url.startswith(("http://", "https://")):
            problems.append(f"{self.name.upper()}_URL must start with https:// (got {url!r}).")
        return problems

    def create_ticket(self, request: TicketRequest) -> ProviderTicket:
        exchanges: list[Exchange] = []
        try:
            problems = self.configuration_problems()
            if problems:
                raise ConfigurationError(" ".join(problems))
            ticket = self.send(request, exchanges)
        except (ProviderError, ConfigurationError) as exc:
            exc.exchanges = exchanges
            if exchanges and not exchanges[-1].error_class:
                exchanges[-1].classify(exc.error_class, exc.message)
            raise
        ticket.exchanges = exchanges
        exchanges[-1].classify("success", "")
        return ticket

    def send(self, request: TicketRequest, exchanges: list[Exchange]) -> ProviderTicket:
        reply = self.post_ticket(request, exchanges, headers=self.auth_headers(exchanges))
        return self.parse_reply(reply)

    def post_ticket(
        self, request: TicketRequest, exchanges: list[Exchange], *, headers: dict[str, str]
    ) -> HttpReply:
        return self.http.post(
            url=self.create_url,
            kind="ticket",
            headers=headers,
            exchanges=exchanges,
            **self.build_body(request),
        )

    @abstractmethod
    def auth_headers(self, exchanges: list[Exchange]) -> dict[str, str]:
        """The Authorization header (fetching a token if needed)."""

    @abstractmethod
    def build_body(self, request: TicketRequest) -> dict[str, Any]:
        """Keyword arguments for ``HttpClient.post``: ``json_body``, or ``data`` and ``files``."""

    @abstractmethod
    def parse_reply(self, reply: HttpReply) -> ProviderTicket:
        """A ticket from a success, or the right ``ProviderError`` for anything else."""

"""The interface every ticket provider implements, and the plain data it takes and returns."""

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured, ValidationError

from portal.env import env_float, env_str
from tickets.outbound.errors import (
    ConfigurationError,
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTransientError,
    ProviderUnknownOutcome,
    server_error,
)
from tickets.outbound.http import Exchange, Exchanges, HttpClient, HttpReply, outbound_url_problem
from tickets.providers.settings import Reader, provider_setting, setting_variable
from tickets.statuses import ErrorClass

if TYPE_CHECKING:
    from django.utils.functional import Promise

    from tickets.forms.base import SubmissionForm
    from tickets.models import Submission
    from tickets.sandbox.server import SandboxEndpoints

logger = logging.getLogger(__name__)

# The prefix of the settings every provider shares: PROVIDER_CONNECT_TIMEOUT, PROVIDER_READ_TIMEOUT.
SHARED_SETTINGS_PREFIX = "PROVIDER"
# The settings every provider reads (``TicketProvider.settings_help`` adds each one's own).
COMMON_SETTINGS_HELP = {
    "url": "The provider's host (https); the portal appends its create path. Default with the "
    "sandbox on: the sandbox.",
    "map_lat": "Where the form's map opens (latitude); default: the provider's own place, else "
    "MAP_DEFAULT_LAT.",
    "map_lng": "Where the form's map opens (longitude); default as for the latitude.",
}
# Answers that say the request came too early or too slowly, not that its content is wrong.
TRANSIENT_CLIENT_STATUSES = (408, 425)


@dataclass(frozen=True)
class FileUpload:
    field: str  # the provider's part name: "attachment" or "file"
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class TicketRequest:
    """What the customer asked for, independent of any provider's wire format.

    ``fields`` holds every customer field by the provider form's field names; ``files`` the
    uploads, each under its form field name.
    """

    reference: str
    fields: Mapping[str, Any]
    files: tuple[FileUpload, ...] = ()


@dataclass
class ProviderTicket:
    """A created ticket: the numbers to show the customer and the provider's whole answer."""

    ticket_id: str
    case_number: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    exchanges: list[Exchange] = field(default_factory=list)


class TicketProvider(ABC):
    """Everything the portal knows about one ticket provider, built from its settings entry.

    ``settings.TICKET_PROVIDERS`` maps an alias to ``{"BACKEND": <this class>, "OPTIONS": {...}}``;
    the registry (``tickets.providers.registry``) builds one instance per alias on first use. The
    instance reads each of its settings with ``setting()``: OPTIONS first, then the environment
    variable ``<settings_prefix>_<NAME>``, then a default (``tickets.providers.settings``).

    A subclass declares what the customer is told (``title``, ``summary``, ``sent_next_step``,
    ``ticket_number_label``), its form (``form_class``, the one definition of its fields),
    its sandbox endpoints (``sandbox_class``), and fills the hooks of a send.
    ``create_ticket`` returns a ``ProviderTicket`` or raises a ``ProviderError`` or a
    ``ConfigurationError``; either way every HTTP call made is in ``exchanges``.
    """

    # Each class attribute annotated here without a value is one every provider must set: the
    # registry refuses a provider class that leaves one out. Annotate nothing else here.
    # The provider's own name, as staff know it (a brand: never translated).
    label: ClassVar[str]
    # What the customer reads about the service: on the landing page, above the form, and on the
    # status page once the ticket exists.
    title: ClassVar["Promise | str"]
    summary: ClassVar["Promise | str"]
    sent_next_step: ClassVar["Promise | str"] = ""
    ticket_number_label: ClassVar["Promise | str"]
    # The customer's form: the one definition of this provider's fields, limits and choices.
    form_class: ClassVar["type[SubmissionForm]"]
    # Fake endpoints that speak this provider's contract, for `make run` and the tests.
    sandbox_class: ClassVar["type[SandboxEndpoints]"]
    create_path: ClassVar[str] = "/api/ticket/create"
    # The prefix of this provider's environment variables: "STOREHUB" reads STOREHUB_URL.
    settings_prefix: ClassVar[str]
    # Each setting of its own that the provider reads with ``setting()``, with what it is for:
    # ``manage.py provider_settings`` lists them, so a provider documents its variables here.
    # ``setting()`` refuses a name missing from it or from ``COMMON_SETTINGS_HELP``.
    settings_help: ClassVar[Mapping[str, str]]
    # The form field that says in a line what the request is about (a subject, an issue): shown
    # on the status page, which never shows contact details (its link is all it takes to see it).
    summary_field: ClassVar[str]
    # Where the form's map opens: the middle of the place its customers are, as (latitude,
    # longitude); None for the portal-wide MAP_DEFAULT_LAT/LNG. <PREFIX>_MAP_LAT/_LNG override.
    map_center: ClassVar[tuple[float, float] | None] = None
    # The time zone of the provider's customers: the status page gives its times in it, named
    # ("WIB"); "" for the portal's TIME_ZONE.
    customer_time_zone: ClassVar[str] = ""

    def __init__(self, *, alias: str, **options: Any) -> None:
        self.alias = alias
        self.options = options
        self.url = self.setting("url", default=self.sandbox_url)
        # Explicit time-outs for every outbound call, in seconds.
        self.connect_timeout = provider_setting(
            options, "connect_timeout", prefix=SHARED_SETTINGS_PREFIX, default=5.0, read=env_float
        )
        self.read_timeout = provider_setting(
            options, "read_timeout", prefix=SHARED_SETTINGS_PREFIX, default=30.0, read=env_float
        )
        self.http = HttpClient(connect_timeout=self.connect_timeout, read_timeout=self.read_timeout)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.alias!r}>"

    # --- settings ---------------------------------------------------------------------------
    def setting(self, name: str, *, default: Any = "", read: Reader = env_str) -> Any:
        """This provider's setting ``name``: its OPTIONS, else ``<PREFIX>_<NAME>``, else default."""
        if name not in self.settings_documented():
            raise ImproperlyConfigured(
                f"{type(self).__name__} reads the setting {name!r} without documenting it in "
                "settings_help."
            )
        return provider_setting(
            self.options, name, prefix=self.settings_prefix, default=default, read=read
        )

    def request_summary(self, submission: "Submission") -> str:
        return str(submission.details.get(self.summary_field, ""))

    @property
    def map_opens_at(self) -> tuple[float, float]:
        """Where this provider's map opens, from its settings, else its own default."""
        latitude, longitude = self.map_center or settings.MAP_DEFAULT_CENTER
        return (
            self.setting("map_lat", default=latitude, read=env_float),
            self.setting("map_lng", default=longitude, read=env_float),
        )

    @classmethod
    def settings_documented(cls) -> dict[str, str]:
        """Every setting the provider reads, by name, with what it is for."""
        return {**COMMON_SETTINGS_HELP, **cls.settings_help}

    def setting_name(self, name: str) -> str:
        """The environment variable of setting ``name``, as configuration messages name it."""
        return setting_variable(self.settings_prefix, name)

    @property
    def sandbox_url(self) -> str:
        """Where ``manage.py run_sandbox`` serves this provider, or "" when the sandbox is off:
        the default of every URL this provider calls."""
        return f"{settings.SANDBOX_URL}/{self.alias}" if settings.SANDBOX_ENABLED else ""

    # --- what the rest of the portal asks of a provider -----------------------------------
    def customer_data_validate(self, data: dict[str, Any], *, partial: bool = True) -> None:
        """Refuse fields the form does not have, and (unless ``partial``) missing ones.

        The form has already checked each value; this guards the services against a caller that
        is not the form. The coordinates go together: both or neither.
        """
        unexpected = set(data) - set(self.form_class.customer_field_names())
        if unexpected:
            raise ValidationError(
                f"Fields not used by {self.label}: {', '.join(sorted(unexpected))}."
            )
        if not partial:
            required = self.form_class.required_field_names()
            missing = [f for f in required if data.get(f) in (None, "")]
            if missing:
                raise ValidationError(f"Missing required fields: {', '.join(missing)}.")
            if (data.get("latitude") is None) != (data.get("longitude") is None):
                raise ValidationError("Give both latitude and longitude, or neither.")

    def form(self, *args: Any, **kwargs: Any) -> "SubmissionForm":
        """The customer's form, bound to this provider's options (choices from settings)."""
        return self.form_class(*args, provider=self, **kwargs)

    @property
    def create_url(self) -> str:
        return self.url.rstrip("/") + self.create_path

    def configuration_problems(self) -> list[str]:
        """Plain sentences naming each missing or malformed setting. No network call."""
        url_setting = self.setting_name("url")
        if not self.url:
            return [f"{url_setting} is not set."]
        problem = self.url_problem(url_setting, self.url)
        return [problem] if problem else []

    @staticmethod
    def url_problem(setting: str, url: str) -> str:
        """Why a URL this provider calls is refused, or "": https only, except plain http to
        this machine in DEBUG (the sandbox)."""
        return outbound_url_problem(
            setting, url, allow_http_on_loopback=settings.PROVIDER_ALLOW_HTTP_ON_LOOPBACK
        )

    def check(self) -> list[checks.CheckMessage]:
        """System-check messages for this provider's settings (run at start-up)."""
        return [
            checks.Error(
                f"{self.label}: {problem}",
                hint="See .env.example and docs/configuration.md.",
                obj=f"TICKET_PROVIDERS[{self.alias!r}]",
                id="tickets.E002",
            )
            for problem in self.configuration_problems()
        ]

    # --- a send ----------------------------------------------------------------------------
    def create_ticket(
        self, request: TicketRequest, *, deadline_seconds: float | None = None
    ) -> ProviderTicket:
        """Send ``request``; every call it takes must end within ``deadline_seconds``."""
        exchanges = Exchanges(
            deadline=None if deadline_seconds is None else time.monotonic() + deadline_seconds
        )
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
        except Exception as exc:
            # A bug of ours after a call went out (e.g. reading an odd answer): the provider may
            # have the ticket, so it is an unknown outcome, with every call kept for staff.
            if not any(exchange.http_status is not None for exchange in exchanges):
                raise
            logger.exception("%s: unexpected error after a call to the provider", self.label)
            unknown = ProviderUnknownOutcome(f"Internal error after the call: {type(exc).__name__}")
            unknown.exchanges = exchanges
            exchanges[-1].classify(unknown.error_class, unknown.message)
            raise unknown from exc
        ticket.exchanges = exchanges
        exchanges[-1].classify(ErrorClass.SUCCESS, "")
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

    # --- the hooks of a send ---------------------------------------------------------------
    @abstractmethod
    def auth_headers(self, exchanges: list[Exchange]) -> dict[str, str]:
        """The Authorization header (fetching a token if needed)."""

    @abstractmethod
    def build_body(self, request: TicketRequest) -> dict[str, Any]:
        """Keyword arguments for ``HttpClient.post``: ``json_body``, or ``data`` and ``files``."""

    @abstractmethod
    def parse_reply(self, reply: HttpReply) -> ProviderTicket:
        """A ticket from a success, or the right ``ProviderError`` for anything else."""

    def error_for_status(
        self, reply: HttpReply, *, detail: str = ""
    ) -> ProviderError | ConfigurationError:
        """The failure an HTTP status means when nothing more specific was read from the reply.

        ``parse_reply`` reads the provider's own codes first and ends with
        ``raise self.error_for_status(reply)``; ``detail`` is the provider's words, if any.
        """
        status = reply.status
        said = f": {detail}" if detail else "."
        if status >= 500:
            return server_error(self.label, status)
        if status == 429:
            return ProviderRateLimited.from_reply(f"{self.label}: too many requests.", reply)
        if status in TRANSIENT_CLIENT_STATUSES:
            return ProviderTransientError(f"{self.label}: HTTP {status}.", http_status=status)
        if status in (401, 403):
            return ConfigurationError(
                f"{self.label} refused access (HTTP {status}){said}", http_status=status
            )
        if 400 <= status < 500:
            return ProviderRejected(
                f"{self.label} rejected the request (HTTP {status}){said}", http_status=status
            )
        return ProviderUnknownOutcome(
            f"{self.label} answered HTTP {status} without a documented body.", http_status=status
        )

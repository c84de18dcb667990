"""Throw-away providers for the tests of the shared pages: the least a provider must say, and
forms with and without a phone number and a map, as a third provider may have.

Registered by a test with ``register(settings, alias=Class, ...)``; never in the settings.
"""

from typing import Any, ClassVar

from crispy_forms.layout import Fieldset
from django import forms

from tickets.forms.base import SubmissionForm
from tickets.forms.fields import (
    CustomerEmailField,
    LongTextField,
    PhoneNumberField,
    latitude_field,
    longitude_field,
)
from tickets.forms.layout import LocationFieldset
from tickets.providers.base import ProviderTicket, TicketProvider, TicketRequest
from tickets.sandbox.server import SandboxEndpoints


class BareForm(SubmissionForm):
    """A name, an e-mail address and a question: no phone number, no map."""

    name = forms.CharField(label="Name", max_length=100)
    email = CustomerEmailField(label="E-mail", max_length=254)
    question = LongTextField(label="Question", max_length=1000)

    def layout_fields(self) -> list:
        return [Fieldset("About you", "name", "email"), Fieldset("Your request", "question")]


class WithPhoneForm(BareForm):
    phone = PhoneNumberField(label="Phone number")

    def layout_fields(self) -> list:
        return [Fieldset("About you", "name", "email", "phone"), Fieldset("Request", "question")]


class WithMapForm(BareForm):
    latitude = latitude_field(required=False)
    longitude = longitude_field(required=False)

    def layout_fields(self) -> list:
        return [*super().layout_fields(), LocationFieldset("Where", "latitude", "longitude")]


class UnlaidPhoneForm(BareForm):
    """A phone field declared but left out of the layout: not asked for."""

    phone = PhoneNumberField(label="Phone number", required=False)


class BareSandbox(SandboxEndpoints):
    pass


class Bare(TicketProvider):
    label = "Bare"
    title = "Bare help desk"
    summary = "Anything else, by e-mail."
    ticket_number_label = "Ticket number"
    form_class = BareForm
    sandbox_class = BareSandbox
    settings_prefix = "BARE"
    settings_help: ClassVar[dict[str, str]] = {}
    summary_field = "question"

    def auth_headers(self, exchanges) -> dict[str, str]:
        return {}

    def build_body(self, request: TicketRequest) -> dict[str, Any]:
        return {"json_body": dict(request.fields)}

    def parse_reply(self, reply) -> ProviderTicket:
        raise self.error_for_status(reply)


class WithPhone(Bare):
    label = "With phone"
    title = "Phone help desk"
    form_class = WithPhoneForm


class WithMap(Bare):
    label = "With map"
    title = "Visits help desk"
    form_class = WithMapForm


class UnlaidPhone(Bare):
    label = "Unlaid phone"
    title = "Quiet help desk"
    form_class = UnlaidPhoneForm


def register(settings, **providers: type[TicketProvider]) -> None:
    """Make the registry hold exactly these providers, in this order: ``alias=Class``, or
    ``alias=None`` for the configured provider of that alias."""
    configured = settings.TICKET_PROVIDERS
    settings.TICKET_PROVIDERS = {
        alias: configured[alias]
        if provider is None
        else {"BACKEND": f"{provider.__module__}.{provider.__qualname__}", "OPTIONS": {}}
        for alias, provider in providers.items()
    }

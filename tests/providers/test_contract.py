"""What every provider in the registry must do, whatever its contract says.

Each provider runs these against its own sandbox endpoints on loopback; its own tests
(``tests/providers/<name>/``) add only its documented codes and quirks. A provider added to the
registry runs here too, with the valid request its test package declares.
"""

import io
import json
import socket
import threading
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from tests.providers import PROVIDERS, declared
from tests.support.factories import CUSTOMER_DATA, set_provider_options
from tests.support.workers import wait_for
from tickets.models import ErrorClass
from tickets.outbound.errors import (
    ProviderRateLimited,
    ProviderRejected,
    ProviderTransientError,
    ProviderUnknownOutcome,
)
from tickets.outbound.http import HttpReply
from tickets.providers import ConfigurationError, TicketRequest, get_provider

SECRET_OPTION_WORDS = ("token", "password", "key", "secret")

pytestmark = pytest.mark.parametrize("alias", PROVIDERS)


def valid_request(alias: str) -> TicketRequest:
    return TicketRequest(reference="REQ-CONTRACT", fields=CUSTOMER_DATA[alias]())


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stored_text(exchanges) -> str:
    """Everything of the calls that is kept in the database."""
    return json.dumps([[e.url, e.request, e.response, e.message] for e in exchanges], default=str)


def test_a_valid_request_creates_a_ticket_and_records_every_call(sandbox, alias):
    ticket = get_provider(alias).create_ticket(valid_request(alias))

    assert ticket.ticket_id
    assert ticket.exchanges and ticket.exchanges[-1].error_class == "success"
    assert len(sandbox.created(alias)) == 1


@pytest.mark.parametrize(
    ("outcome", "error"),
    [
        ("drop", ProviderUnknownOutcome),
        ("hang:3", ProviderUnknownOutcome),
        ("nonjson", ProviderUnknownOutcome),
        ("500", ProviderTransientError),
        ("503", ProviderTransientError),
    ],
)
def test_faults_are_classified_and_every_call_kept(sandbox, alias, outcome, error):
    sandbox.script(alias, outcome)

    with pytest.raises(error) as caught:
        get_provider(alias).create_ticket(valid_request(alias))

    assert caught.value.exchanges
    assert caught.value.exchanges[-1].error_class == error.error_class
    assert sandbox.created(alias) == []


def test_a_runaway_answer_is_not_read_into_memory(sandbox, alias):
    sandbox.script(alias, "huge")

    with pytest.raises(ProviderUnknownOutcome, match="larger than 1000 KB") as caught:
        get_provider(alias).create_ticket(valid_request(alias))

    assert caught.value.exchanges[-1].error_class == ErrorClass.UNKNOWN_OUTCOME


def test_a_dripping_answer_ends_at_the_deadline_and_leaves_no_call_behind(sandbox, alias):
    sandbox.script(alias, "drip:8")
    started = time.monotonic()

    with pytest.raises(ProviderUnknownOutcome, match="deadline"):
        get_provider(alias).create_ticket(valid_request(alias), deadline_seconds=1.5)

    assert time.monotonic() - started < 5
    # The call's thread hangs up on the provider by itself instead of reading on to the end.
    wait_for(
        lambda: not any(t.name == "provider-call" for t in threading.enumerate()),
        3,
        what="the abandoned call's thread ended",
    )


@pytest.mark.parametrize(
    ("status", "error"),
    [
        # A request time-out or "too early" says nothing against the request: try it again.
        (408, ProviderTransientError),
        (425, ProviderTransientError),
        (429, ProviderRateLimited),
        (401, ConfigurationError),
        (403, ConfigurationError),
        (400, ProviderRejected),
        (503, ProviderTransientError),
        (502, ProviderUnknownOutcome),
        (201, ProviderUnknownOutcome),
    ],
)
def test_an_answer_without_the_providers_own_codes_is_read_by_its_status(alias, status, error):
    with pytest.raises(error) as caught:
        get_provider(alias).parse_reply(HttpReply(status, "", None))

    assert type(caught.value) is error
    assert caught.value.http_status == status
    assert caught.value.message.startswith(get_provider(alias).label)


def test_a_refused_connection_is_transient(sandbox, settings, alias):
    set_provider_options(settings, alias, url=f"http://127.0.0.1:{closed_port()}/{alias}")

    with pytest.raises(ProviderTransientError):
        get_provider(alias).create_ticket(valid_request(alias))


def test_secrets_are_never_stored(sandbox, settings, alias):
    provider = get_provider(alias)
    provider.create_ticket(valid_request(alias))
    sandbox.script(alias, "503")
    with pytest.raises(ProviderTransientError) as caught:
        provider.create_ticket(valid_request(alias))

    secrets = {
        str(value)
        for key, value in provider.options.items()
        if any(word in key for word in SECRET_OPTION_WORDS) and value and "url" not in key
    }
    secrets |= {r["authorization"].removeprefix("Bearer ") for r in sandbox.requests(alias)}
    secrets.discard("")
    assert secrets, "the sandbox saw no credential at all"
    kept = stored_text(caught.value.exchanges)
    for secret in secrets:
        assert secret not in kept


def test_missing_settings_are_reported_and_nothing_is_sent(sandbox, settings, alias):
    set_provider_options(settings, alias, url="")
    provider = get_provider(alias)

    [message] = [m for m in provider.check() if provider.setting_name("url") in m.msg]
    assert message.id == "tickets.E002"
    assert message.msg.startswith(f"{provider.label}: ")
    with pytest.raises(ConfigurationError):
        provider.create_ticket(valid_request(alias))
    assert sandbox.requests(alias) == []


def test_what_the_customer_is_told_is_complete(alias):
    provider = get_provider(alias)

    for text in (provider.title, provider.summary, provider.ticket_number_label):
        assert str(text).strip()
    assert provider.form_class.required_field_names()
    assert set(CUSTOMER_DATA[alias]()) <= set(provider.form_class.customer_field_names())


def test_every_variable_the_provider_reads_is_documented_for_operators(alias):
    provider = get_provider(alias)
    production = set(declared(alias).PRODUCTION_SETTINGS)
    listed = call_command_output("provider_settings")

    documented = {provider.setting_name(name) for name in provider.settings_documented()}
    # A deployment sets only what the provider documents, and the listing names all of it.
    assert production <= documented | {"ENABLED_PROVIDERS"}
    for variable in documented:
        assert f"\n{variable}=\n" in listed
    with pytest.raises(ImproperlyConfigured, match="without documenting it"):
        provider.setting("undocumented_knob")


def call_command_output(*args: str) -> str:
    output = io.StringIO()
    call_command(*args, stdout=output)
    return output.getvalue()

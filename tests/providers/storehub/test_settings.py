"""StoreHub reads its settings: OPTIONS first, then STOREHUB_* variables, then the defaults."""

import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.support.factories import storehub_request
from tickets.providers.registry import check_providers
from tickets.providers.storehub import StoreHub


@pytest.fixture(autouse=True)
def no_storehub_environment(monkeypatch, settings):
    for name in [name for name in os.environ if name.startswith("STOREHUB_")]:
        monkeypatch.delenv(name)
    settings.SANDBOX_ENABLED = False


def test_the_settings_come_from_storehub_variables(monkeypatch):
    monkeypatch.setenv("STOREHUB_URL", "https://storehub.example")
    monkeypatch.setenv("STOREHUB_API_KEY", "tk_live")

    storehub = StoreHub(alias="storehub")

    assert storehub.create_url == "https://storehub.example/api/ticket/create"
    assert storehub.auth_headers([]) == {"Authorization": "Bearer tk_live"}
    assert storehub.configuration_problems() == []


def test_options_win_over_the_environment_even_when_empty(monkeypatch):
    monkeypatch.setenv("STOREHUB_URL", "https://from-env.example")
    monkeypatch.setenv("STOREHUB_API_KEY", "tk_from_env")

    storehub = StoreHub(alias="storehub", url="https://from-options.example", api_key="")

    assert storehub.url == "https://from-options.example"
    assert storehub.configuration_problems() == ["STOREHUB_API_KEY is not set."]


def test_an_empty_variable_means_the_default(monkeypatch):
    monkeypatch.setenv("STOREHUB_API_KEY", "  ")

    assert StoreHub(alias="storehub").configuration_problems() == [
        "STOREHUB_URL is not set.",
        "STOREHUB_API_KEY is not set.",
    ]


def test_the_sandbox_is_the_default_when_it_is_on(settings):
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_URL = "http://127.0.0.1:8001"

    storehub = StoreHub(alias="storehub")

    assert storehub.url == "http://127.0.0.1:8001/storehub"
    assert storehub.auth_headers([]) == {"Authorization": "Bearer tk_sandbox"}


def test_the_state_spellings_are_sent_in_place_of_the_portals(monkeypatch):
    monkeypatch.setenv(
        "STOREHUB_STATE_SPELLINGS", " Kuala Lumpur = W.P. Kuala Lumpur ;Labuan=W.P. Labuan;"
    )

    storehub = StoreHub(alias="storehub")
    body = storehub.build_body(storehub_request(state="Kuala Lumpur"))

    assert storehub.state_spellings == {
        "Kuala Lumpur": "W.P. Kuala Lumpur",
        "Labuan": "W.P. Labuan",
    }
    assert body["json_body"]["Appointment"]["State"] == "W.P. Kuala Lumpur"


@pytest.mark.parametrize("entry", ["Kuala Lumpur", "=W.P. Labuan", "Labuan="])
def test_a_malformed_state_spelling_names_the_variable_and_the_entry(monkeypatch, entry):
    monkeypatch.setenv("STOREHUB_STATE_SPELLINGS", f"Perak=Perak;{entry}")

    with pytest.raises(ImproperlyConfigured) as caught:
        StoreHub(alias="storehub")

    assert str(caught.value) == (
        "STOREHUB_STATE_SPELLINGS entries look like 'Kuala Lumpur=W.P. Kuala Lumpur', "
        f"not {entry!r}."
    )


def test_a_malformed_state_spelling_stops_start_up(monkeypatch, settings):
    monkeypatch.setenv("STOREHUB_STATE_SPELLINGS", "Kuala Lumpur")
    # A new registry: providers are built again, and read the environment again.
    settings.TICKET_PROVIDERS = {"storehub": {**settings.TICKET_PROVIDERS["storehub"]}}

    [error] = check_providers()

    assert error.id == "tickets.E001"
    assert error.msg.startswith("STOREHUB_STATE_SPELLINGS entries look like")

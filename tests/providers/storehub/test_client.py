"""StoreHub against a loopback server that speaks its contract (tickets.sandbox)."""

import json

import pytest

from tests.support.factories import set_provider_options, storehub_request
from tickets.outbound.errors import (
    AccountError,
    ConfigurationError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTransientError,
    ProviderUnknownOutcome,
)
from tickets.outbound.http import HttpReply
from tickets.providers import get_provider


@pytest.fixture
def storehub(sandbox):
    return get_provider("storehub")


def test_a_ticket_is_created_with_the_documented_nested_body(sandbox, storehub):
    ticket = storehub.create_ticket(storehub_request())

    assert ticket.ticket_id == "1000"
    assert ticket.case_number.startswith("STOREHUB1000-CA")
    assert ticket.raw["CaseNum"] == ticket.case_number
    [received] = sandbox.requests("storehub")
    assert received["authorization"] == "Bearer tk_test_key_123456"
    assert received["body"] == {
        "Ticket": {
            "Name": "Ahmad Ibrahim",
            "Phone": "60123456789",
            "Issue": "*Onsite Support",
            "Priority": 0,
            "IsReceiveSms": True,
            "Email": "ahmad_ibrahim@gmail.com",
            "Remark": "Describe your issue",
            "StoreName": "KL Branch",
            "DealerReseller": "Alex",
        },
        "Appointment": {
            "Address": "23, Jalan Ampang, Taman KLCC, 55000 KL",
            "State": "Kuala Lumpur",
            "ServiceId": 1,
            "Longitude": 101.7122,
            "Latitude": 3.1573,
        },
    }


def test_coordinates_are_json_numbers_with_their_decimals(sandbox, storehub):
    ticket_call = storehub.create_ticket(storehub_request()).exchanges[-1]

    assert '"Latitude": 3.1573' in json.dumps(ticket_call.request["json"])
    body = sandbox.requests("storehub")[0]["body"]["Appointment"]
    assert isinstance(body["Latitude"], float)
    assert isinstance(body["Longitude"], float)


def test_optional_keys_are_left_out_when_empty(sandbox, storehub):
    storehub.create_ticket(
        storehub_request(email="", remark="", store_name="", dealer_reseller="", priority=-1)
    )

    ticket = sandbox.requests("storehub")[0]["body"]["Ticket"]
    assert set(ticket) == {"Name", "Phone", "Issue", "Priority", "IsReceiveSms"}
    assert ticket["Priority"] == -1


def test_the_state_spelling_sent_is_configurable(sandbox, settings):
    set_provider_options(
        settings, "storehub", state_spellings={"Kuala Lumpur": "W.P. Kuala Lumpur"}
    )

    get_provider("storehub").create_ticket(storehub_request())

    assert sandbox.requests("storehub")[0]["body"]["Appointment"]["State"] == "W.P. Kuala Lumpur"


def test_error_code_zero_as_a_number_is_success(sandbox, storehub):
    sandbox.script("storehub", "success_numeric")

    assert storehub.create_ticket(storehub_request()).case_number


EXPECTED_CLASSES = {
    "-10000": ProviderRejected,
    "-10001": ConfigurationError,
    "-10002": ConfigurationError,
    "-10003": ConfigurationError,
    "-10004": ProviderRateLimited,
    "-10005": AccountError,
    "-10006": ProviderTransientError,
    "-10007": ConfigurationError,
    "-10008": ProviderTransientError,
    "-10009": ProviderTransientError,
    "-10010": ConfigurationError,
    "-10011": AccountError,
    "-10012": AccountError,
    "-10013": ProviderRejected,
    "-10014": ConfigurationError,
    "-10015": ConfigurationError,
    "-10016": AccountError,
}


@pytest.mark.parametrize("http_status", [200, 400, 500])
@pytest.mark.parametrize(("code", "error_type"), EXPECTED_CLASSES.items())
def test_every_documented_error_code_maps_to_its_class_whatever_the_status(
    sandbox, storehub, code, error_type, http_status
):
    sandbox.script("storehub", f"{code}@{http_status}")

    with pytest.raises(error_type) as caught:
        storehub.create_ticket(storehub_request())

    assert type(caught.value) is error_type
    assert code in caught.value.message
    assert caught.value.exchanges[-1].error_class == error_type.error_class
    assert caught.value.exchanges[-1].http_status == http_status


def test_an_invalid_parameter_is_rejected_with_the_providers_reason(sandbox, storehub):
    with pytest.raises(ProviderRejected, match="ServiceId"):
        storehub.create_ticket(storehub_request(service_id=99))


def test_a_wrong_api_key_is_a_configuration_error(sandbox, settings):
    set_provider_options(settings, "storehub", api_key="not-a-storehub-key")

    with pytest.raises(ConfigurationError, match="-10014"):
        get_provider("storehub").create_ticket(storehub_request())


def test_a_missing_api_key_is_reported_before_any_call(sandbox, settings):
    set_provider_options(settings, "storehub", api_key="")

    with pytest.raises(ConfigurationError, match="STOREHUB_API_KEY is not set"):
        get_provider("storehub").create_ticket(storehub_request())
    assert sandbox.requests("storehub") == []


@pytest.mark.parametrize(
    ("outcome", "error_type"),
    [
        # The shared faults are in tests/providers/test_contract.py; these are StoreHub's HTTP
        # answers without an ErrorCode.
        # A gateway's 502 or 504: the provider behind it may have made the ticket.
        ("502", ProviderUnknownOutcome),
        ("504", ProviderUnknownOutcome),
        ("500", ProviderTransientError),
        ("503", ProviderTransientError),
    ],
)
def test_faults_without_an_error_code_map_by_what_happened(sandbox, storehub, outcome, error_type):
    sandbox.script("storehub", outcome)

    with pytest.raises(error_type):
        storehub.create_ticket(storehub_request())
    assert sandbox.created("storehub") == []


def test_an_undocumented_error_code_is_an_unknown_outcome(storehub):
    reply = HttpReply(status=200, text="", json={"ErrorCode": "-99999"})

    with pytest.raises(ProviderUnknownOutcome, match="-99999"):
        storehub.parse_reply(reply)

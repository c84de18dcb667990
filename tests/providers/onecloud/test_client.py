"""OneCloud against a loopback server that speaks its contract (tickets.sandbox)."""

import json
import time

import pytest

from tests.factories import onecloud_request, png_file_upload, set_provider_options
from tickets.providers import get_provider
from tickets.providers.errors import (
    ConfigurationError,
    ProviderRateLimited,
    ProviderRejected,
)
from tickets.providers.onecloud.client import jwt_expiry
from tickets.providers.onecloud.sandbox import make_jwt


@pytest.fixture
def onecloud(sandbox):
    return get_provider("onecloud")


def test_a_ticket_is_created_with_the_documented_json_body(sandbox, onecloud):
    ticket = onecloud.create_ticket(onecloud_request())

    assert ticket.ticket_id == "515091"
    assert isinstance(ticket.ticket_id, str)
    [received] = sandbox.requests("onecloud")
    assert received["content_type"] == "application/json"
    assert received["authorization"].startswith("Bearer ey")
    assert received["body"] == {
        "fullName": "Agung Januar",
        "contact": "agung@email.com",
        "subject": "Subscribe to onebox",
        "category": "Request",
        "content": "Hello, I want to subscribe to onebox, how to do it? thank you",
        "coordinate": "-6.200000,106.816666",
    }


def test_optional_keys_are_left_out_when_empty(sandbox, onecloud):
    onecloud.create_ticket(onecloud_request(latitude=None, longitude=None))

    assert "coordinate" not in sandbox.requests("onecloud")[0]["body"]


def test_files_go_as_multipart_parts_named_attachment_and_file(sandbox, onecloud):
    request = onecloud_request(files=(png_file_upload("attachment"), png_file_upload("file")))

    ticket = onecloud.create_ticket(request)

    assert ticket.ticket_id
    [received] = sandbox.requests("onecloud")
    assert received["content_type"].startswith("multipart/form-data")
    assert received["body"]["fullName"] == "Agung Januar"
    assert received["body"]["coordinate"] == "-6.200000,106.816666"
    assert received["body"]["attachment"]["filename"] == "brochure.png"
    assert received["body"]["attachment"]["content_type"] == "image/png"
    assert received["body"]["file"]["size"] == len(png_file_upload().data)
    # The stored request names the files but does not carry their bytes.
    ticket_call = ticket.exchanges[-1]
    assert ticket_call.request["files"][0]["part"] == "attachment"
    assert "data" not in json.dumps(ticket_call.request["files"])


def test_expired_token_is_refreshed_once_and_the_ticket_created(sandbox, onecloud):
    sandbox.script("onecloud", "expired_token")

    ticket = onecloud.create_ticket(onecloud_request())

    assert ticket.ticket_id
    assert sandbox.endpoints("onecloud").tokens_issued == 2
    assert [e.kind for e in ticket.exchanges] == ["token", "ticket", "token", "ticket"]
    assert [e.error_class for e in ticket.exchanges] == [
        "success",
        "token_expired",
        "success",
        "success",
    ]
    assert len(sandbox.created("onecloud")) == 1


def test_a_second_expired_token_in_a_row_is_a_configuration_error(sandbox, onecloud):
    sandbox.script("onecloud", "expired_token", "expired_token")

    with pytest.raises(ConfigurationError) as caught:
        onecloud.create_ticket(onecloud_request())

    assert sandbox.endpoints("onecloud").tokens_issued == 2
    assert len(caught.value.exchanges) == 4
    assert sandbox.created("onecloud") == []


def test_a_cached_token_is_reused(sandbox, onecloud):
    onecloud.create_ticket(onecloud_request())
    onecloud.create_ticket(onecloud_request())

    assert sandbox.endpoints("onecloud").tokens_issued == 1


def test_a_jwt_is_refreshed_ahead_of_its_exp(sandbox, onecloud):
    # Tokens that expire within the refresh margin are renewed before each use.
    sandbox.endpoints("onecloud").token_lifetime = 30
    onecloud.create_ticket(onecloud_request())
    onecloud.create_ticket(onecloud_request())

    assert sandbox.endpoints("onecloud").tokens_issued == 2
    assert all(r["outcome"] == "success" for r in sandbox.requests("onecloud"))


def test_quota_401_is_rate_limited_not_a_token_problem(sandbox, onecloud):
    sandbox.script("onecloud", "quota")

    with pytest.raises(ProviderRateLimited):
        onecloud.create_ticket(onecloud_request())

    assert sandbox.endpoints("onecloud").tokens_issued == 1


def test_another_401_is_a_configuration_error(sandbox, settings):
    set_provider_options(settings, "onecloud", token_url="")
    set_provider_options(settings, "onecloud", token="not.a-valid.jwt")

    with pytest.raises(ConfigurationError, match="Invalid token"):
        get_provider("onecloud").create_ticket(onecloud_request())


def test_a_fixed_token_is_sent_as_configured(sandbox, settings):
    token = make_jwt({"exp": time.time() + 3600, "sub": "55"})
    set_provider_options(settings, "onecloud", token_url="")
    set_provider_options(settings, "onecloud", token=token)

    get_provider("onecloud").create_ticket(onecloud_request())

    assert sandbox.requests("onecloud")[0]["authorization"] == f"Bearer {token}"
    assert jwt_expiry(token) is not None


def test_an_expired_fixed_token_is_a_configuration_error(sandbox, settings):
    set_provider_options(settings, "onecloud", token_url="")
    set_provider_options(settings, "onecloud", token=make_jwt({"exp": time.time() - 10}))

    with pytest.raises(ConfigurationError, match="ONECLOUD_TOKEN has expired"):
        get_provider("onecloud").create_ticket(onecloud_request())


def test_refused_credentials_are_a_configuration_error(sandbox, settings):
    set_provider_options(settings, "onecloud", password="")
    set_provider_options(settings, "onecloud", username="")

    with pytest.raises(ConfigurationError, match="ONECLOUD_USERNAME"):
        get_provider("onecloud").create_ticket(onecloud_request())
    assert sandbox.requests("onecloud") == []


@pytest.mark.parametrize(
    ("outcome", "error_type"),
    [
        ("400", ProviderRejected),
        ("422", ProviderRejected),
        ("403", ConfigurationError),
        ("429", ProviderRateLimited),
    ],
)
def test_each_documented_failure_maps_to_its_class(sandbox, onecloud, outcome, error_type):
    sandbox.script("onecloud", outcome)

    with pytest.raises(error_type) as caught:
        onecloud.create_ticket(onecloud_request())

    assert type(caught.value) is error_type
    assert caught.value.exchanges[-1].error_class == error_type.error_class
    assert sandbox.created("onecloud") == []


def test_no_token_or_password_is_kept_across_a_token_refresh(sandbox, onecloud):
    sandbox.script("onecloud", "expired_token")

    ticket = onecloud.create_ticket(onecloud_request())

    stored = json.dumps([(e.request, e.response) for e in ticket.exchanges])
    assert "s3cret-password" not in stored
    for received in sandbox.requests("onecloud"):
        token = received["authorization"].removeprefix("Bearer ")
        assert token not in stored
    assert "***" in stored

"""OneCloud against a loopback server that speaks its contract (tickets.sandbox)."""

import json
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.support.factories import (
    onecloud_request,
    png_file_upload,
    set_provider_options,
    time_zone_at_noon,
)
from tickets.outbound.errors import ConfigurationError, ProviderRateLimited, ProviderRejected
from tickets.outbound.http import HttpReply
from tickets.providers import get_provider
from tickets.providers.onecloud.client import jwt_expiry, quota_window_start
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


# --- the quota window ------------------------------------------------------------------------
JAKARTA = ZoneInfo("Asia/Jakarta")
QUOTA_MESSAGE = "time limit reached please try again tomorrow at 18:00 - 06:00"


@pytest.mark.parametrize(
    ("now_in_jakarta", "opens_in_jakarta"),
    [
        # Inside the window after midnight (01:00): it opened yesterday; next is today 18:00.
        (datetime(2026, 11, 24, 1, 0), datetime(2026, 11, 24, 18, 0)),
        # Outside the window, in the day: today at 18:00.
        (datetime(2026, 11, 24, 9, 30), datetime(2026, 11, 24, 18, 0)),
        (datetime(2026, 11, 24, 17, 59), datetime(2026, 11, 24, 18, 0)),
        # Well after the start, up to midnight: tomorrow at 18:00.
        (datetime(2026, 11, 24, 18, 30), datetime(2026, 11, 25, 18, 0)),
        (datetime(2026, 11, 24, 23, 30), datetime(2026, 11, 25, 18, 0)),
        # Across the month and the year.
        (datetime(2026, 12, 31, 23, 59), datetime(2027, 1, 1, 18, 0)),
    ],
)
def test_the_quota_window_opens_next_at_its_start_in_jakarta(now_in_jakarta, opens_in_jakarta):
    now = now_in_jakarta.replace(tzinfo=JAKARTA).astimezone(UTC)

    opens = quota_window_start(QUOTA_MESSAGE, now=now, time_zone=JAKARTA)

    assert opens == opens_in_jakarta.replace(tzinfo=JAKARTA)
    assert opens.tzinfo is not None


@pytest.mark.parametrize("minutes_after", [0, 1, 14])
def test_a_quota_answer_just_after_the_window_opened_is_not_a_days_wait(minutes_after):
    """OneCloud's clock is a little behind ours: back off a minute or so, not until tomorrow."""
    now = datetime(2026, 11, 24, 18, minutes_after, tzinfo=JAKARTA).astimezone(UTC)

    assert quota_window_start(QUOTA_MESSAGE, now=now, time_zone=JAKARTA) is None


def test_the_window_is_read_in_the_configured_time_zone():
    now = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)  # 16:30 in Jakarta, 18:30 in Jayapura

    in_jakarta = quota_window_start(QUOTA_MESSAGE, now=now, time_zone=JAKARTA)
    in_jayapura = quota_window_start(QUOTA_MESSAGE, now=now, time_zone=ZoneInfo("Asia/Jayapura"))

    assert in_jakarta == datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
    assert in_jayapura == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "message", ["time limit reached please try again later", "quota exceeded", "at 25:00 - 06:00"]
)
def test_a_quota_message_without_a_readable_window_names_no_time(message):
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    assert quota_window_start(message, now=now, time_zone=JAKARTA) is None


def test_a_quota_reply_carries_the_window_and_one_without_falls_back(settings):
    zone = time_zone_at_noon()
    set_provider_options(settings, "onecloud", time_zone=zone)
    onecloud = get_provider("onecloud")
    named = HttpReply(401, "", {"records": {"userMessage": QUOTA_MESSAGE}})
    unnamed = HttpReply(401, "", {"records": {"userMessage": "time limit reached"}})

    with pytest.raises(ProviderRateLimited) as with_window:
        onecloud.parse_reply(named)
    with pytest.raises(ProviderRateLimited) as without:
        onecloud.parse_reply(unnamed)

    opens = with_window.value.not_before.astimezone(ZoneInfo(zone))
    assert (opens.hour, opens.minute) == (18, 0)
    assert without.value.not_before is None


def test_an_unknown_time_zone_is_a_configuration_problem(settings):
    set_provider_options(settings, "onecloud", time_zone="Asia/Atlantis")

    problems = get_provider("onecloud").configuration_problems()

    assert any("ONECLOUD_TIME_ZONE 'Asia/Atlantis'" in problem for problem in problems)

"""Configuration errors are reported clearly at start-up, never discovered by a customer."""

import ipaddress
import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from portal.env import env_int
from tests.conftest import PRODUCTION_ENVIRONMENT
from tests.providers import declared, provider_test_packages
from tests.support.factories import set_provider_options
from tests.support.manage import run_manage
from tickets.providers.base import TicketProvider
from tickets.providers.storehub import StoreHub

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_a_missing_provider_setting_stops_start_up_with_a_clear_message(settings):
    set_provider_options(settings, "storehub", api_key="")
    set_provider_options(settings, "onecloud", url="ftp://example.com")

    with pytest.raises(SystemCheckError) as caught:
        call_command("check")

    message = str(caught.value)
    assert "StoreHub: STOREHUB_API_KEY is not set." in message
    assert "OneCloud: ONECLOUD_URL must start with https://" in message


@pytest.mark.system
def test_an_unknown_enabled_provider_stops_start_up():
    result = run_manage("check", DEBUG="1", ENABLED_PROVIDERS="onecloud,zendesk")

    assert result.returncode != 0
    assert "ENABLED_PROVIDERS names an unknown provider 'zendesk'" in result.stderr


@pytest.mark.django_db
def test_a_provider_backend_that_cannot_be_imported_is_reported(settings):
    settings.TICKET_PROVIDERS = {
        **settings.TICKET_PROVIDERS,
        "zendesk": {"BACKEND": "tickets.providers.zendesk.Zendesk", "OPTIONS": {}},
    }

    with pytest.raises(SystemCheckError, match="could not import BACKEND") as caught:
        call_command("check")

    assert "tickets.E001" in str(caught.value)


class HalfWritten(TicketProvider):
    """A provider package begun: a label and nothing else yet."""

    label = "Half written"


# Says everything a provider must say (StoreHub's words), but does none of a send's hooks.
WithoutHooks = type(
    "WithoutHooks",
    (TicketProvider,),
    {name: getattr(StoreHub, name) for name in TicketProvider.__annotations__},
)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("backend", "reported"),
    [
        (
            "tests.operations.test_configuration.HalfWritten",
            "does not set title, summary, ticket_number_label, form_class, sandbox_class, "
            "settings_prefix, settings_help, summary_field",
        ),
        ("tests.operations.test_configuration.WithoutHooks", "parse_reply"),
    ],
)
def test_a_provider_class_not_finished_is_reported(settings, backend, reported):
    settings.TICKET_PROVIDERS = {
        **settings.TICKET_PROVIDERS,
        "unfinished": {"BACKEND": backend, "OPTIONS": {}},
    }

    with pytest.raises(SystemCheckError) as caught:
        call_command("check")

    assert "tickets.E001" in str(caught.value) and reported in str(caught.value)


@pytest.mark.django_db
def test_no_provider_at_all_is_reported(settings):
    settings.TICKET_PROVIDERS = {}

    with pytest.raises(SystemCheckError, match="TICKET_PROVIDERS is empty"):
        call_command("check")


@pytest.mark.system
def test_the_providers_are_the_enabled_ones_in_their_order():
    script = "from django.conf import settings; print(list(settings.TICKET_PROVIDERS))"
    result = run_manage("shell", "-c", script, DEBUG="1", ENABLED_PROVIDERS="storehub")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("['storehub']")


@pytest.mark.system
def test_the_default_local_configuration_needs_no_credentials():
    result = run_manage("check", DEBUG="1")

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.system
def test_production_without_a_secret_key_refuses_to_start():
    result = run_manage("check", **(PRODUCTION_ENVIRONMENT | {"SECRET_KEY": ""}))

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


@pytest.mark.system
def test_the_sandbox_can_never_be_on_in_production():
    result = run_manage("check", **(PRODUCTION_ENVIRONMENT | {"SANDBOX": "1"}))

    assert result.returncode != 0
    assert "SANDBOX=1 is refused when DEBUG is off" in result.stderr


@pytest.mark.system
def test_production_without_provider_settings_refuses_to_start():
    providers = [
        name for alias in provider_test_packages() for name in declared(alias).PRODUCTION_SETTINGS
    ]
    result = run_manage("check", **(PRODUCTION_ENVIRONMENT | dict.fromkeys(providers, "")))

    assert result.returncode != 0
    assert "ONECLOUD_URL is not set" in result.stderr
    assert "STOREHUB_API_KEY is not set" in result.stderr


@pytest.mark.system
def test_a_malformed_number_setting_names_the_variable():
    result = run_manage("check", DEBUG="1", FORWARD_LEASE_SECONDS="long")

    assert result.returncode != 0
    assert "FORWARD_LEASE_SECONDS must be a number" in result.stderr


@pytest.mark.system
def test_a_malformed_list_of_waits_names_the_variable():
    result = run_manage("check", DEBUG="1", FORWARD_RETRY_FIRST_WAITS="2,soon")

    assert result.returncode != 0
    assert "FORWARD_RETRY_FIRST_WAITS must be numbers of seconds" in result.stderr


def test_a_lease_shorter_than_the_slowest_forward_is_warned_about(settings):
    set_provider_options(settings, "storehub", read_timeout=60)
    settings.FORWARD_CALL_DEADLINE_SECONDS = 90
    settings.FORWARD_LEASE_SECONDS = 149

    from tickets.checks import check_forwarding_lease

    [warning] = check_forwarding_lease()
    assert warning.id == "tickets.W001"
    assert "to StoreHub" in warning.msg


@pytest.mark.system
def test_production_refuses_plain_http_provider_urls():
    result = run_manage(
        "check",
        **(
            PRODUCTION_ENVIRONMENT
            | {
                "STOREHUB_URL": "http://storehub.example",
                "ONECLOUD_TOKEN": "",
                "ONECLOUD_TOKEN_URL": "http://127.0.0.1:9000/api/token",
                "ONECLOUD_USERNAME": "portal",
                "ONECLOUD_PASSWORD": "pw",
            }
        ),
    )

    assert result.returncode != 0
    assert "STOREHUB_URL must start with https://" in result.stderr
    assert "ONECLOUD_TOKEN_URL must start with https://" in result.stderr


@pytest.mark.system
def test_debug_allows_plain_http_only_to_this_machine():
    result = run_manage(
        "check",
        DEBUG="1",
        SANDBOX="0",
        STOREHUB_URL="http://storehub.example",
        STOREHUB_API_KEY="tk_test",
        ONECLOUD_URL="http://127.0.0.1:8001/onecloud",
        ONECLOUD_TOKEN="fixed",
    )

    assert result.returncode != 0
    assert "STOREHUB_URL must start with https:// (plain http only to this machine" in result.stderr
    assert "ONECLOUD_URL" not in result.stderr


@pytest.mark.system
def test_production_without_a_mail_server_or_address_is_warned_about():
    result = run_manage("check", **(PRODUCTION_ENVIRONMENT | {"EMAIL_HOST": "", "PORTAL_URL": ""}))

    assert "tickets.W002" in result.stderr and "No mail server is configured" in result.stderr
    assert "tickets.W003" in result.stderr and "PORTAL_URL is not set" in result.stderr


@pytest.mark.system
def test_production_with_no_one_to_alert_is_warned_about():
    result = run_manage(
        "check", "--deploy", **(PRODUCTION_ENVIRONMENT | {"STAFF_ALERT_EMAILS": ""})
    )

    assert "tickets.W004" in result.stderr and "STAFF_ALERT_EMAILS is empty" in result.stderr


@pytest.mark.system
def test_the_embedded_database_keeps_every_acknowledged_request_through_a_power_cut(tmp_path):
    """SQLite in WAL mode with synchronous=FULL: a commit is on the disk before the customer is
    answered. Its connections are kept between requests unless set otherwise (empty = default)."""
    probe = (
        "from django.db import connection;"
        "cursor = connection.cursor();"
        "print(cursor.execute('PRAGMA journal_mode').fetchone()[0],"
        " cursor.execute('PRAGMA synchronous').fetchone()[0],"
        " connection.settings_dict['CONN_MAX_AGE'])"
    )
    result = run_manage(
        "shell",
        "-c",
        probe,
        DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        DATABASE_CONN_MAX_AGE="",
    )
    assert result.returncode == 0, result.stderr
    # journal mode, synchronous (2 = FULL), seconds a connection is kept
    assert result.stdout.split()[-3:] == ["wal", "2", "600"]


@pytest.mark.system
def test_a_renamed_variable_is_still_read_and_the_check_names_the_new_one():
    script = "from django.conf import settings; print(settings.OUTBOX_SWEEP_INTERVAL_SECONDS)"
    read = run_manage("shell", "-c", script, DEBUG="1", FORWARD_SWEEP_INTERVAL_SECONDS="7")
    checked = run_manage("check", DEBUG="1", FORWARD_SWEEP_INTERVAL_SECONDS="7")

    assert read.stdout.strip().splitlines()[-1] == "7.0"
    assert "tickets.W007" in checked.stderr + checked.stdout
    assert "set OUTBOX_SWEEP_INTERVAL_SECONDS instead" in checked.stderr + checked.stdout


def test_the_new_name_wins_over_the_old_and_a_bad_old_value_is_named(monkeypatch):
    monkeypatch.setenv("EMAIL_MAX_ATTEMPTS", "3")
    assert env_int("MESSAGE_MAX_ATTEMPTS", 8) == 3
    monkeypatch.setenv("MESSAGE_MAX_ATTEMPTS", "5")
    assert env_int("MESSAGE_MAX_ATTEMPTS", 8) == 5

    monkeypatch.delenv("MESSAGE_MAX_ATTEMPTS")
    monkeypatch.setenv("EMAIL_MAX_ATTEMPTS", "many")
    with pytest.raises(ImproperlyConfigured, match="EMAIL_MAX_ATTEMPTS must be a whole number"):
        env_int("MESSAGE_MAX_ATTEMPTS", 8)


def test_compose_trusts_its_own_proxy_and_no_other_container():
    compose = (ROOT / "deploy" / "compose.yaml").read_text()
    proxy_address = re.search(r"ipv4_address: ([\d.]+)", compose).group(1)
    trusted = re.search(r"TRUSTED_PROXY_NETWORKS: (\S+)", compose).group(1)
    subnet = re.search(r"subnet: ([\d./]+)", compose).group(1)

    assert [ipaddress.ip_network(n) for n in trusted.split(",")] == [
        ipaddress.ip_network(f"{proxy_address}/32")
    ]
    assert ipaddress.ip_address(proxy_address) in ipaddress.ip_network(subnet)

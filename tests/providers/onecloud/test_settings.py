"""OneCloud reads its settings: OPTIONS first, then ONECLOUD_* variables, then the defaults."""

import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from tickets.providers.onecloud import OneCloud


@pytest.fixture(autouse=True)
def no_provider_environment(monkeypatch, settings):
    for name in [name for name in os.environ if name.startswith(("ONECLOUD_", "PROVIDER_"))]:
        monkeypatch.delenv(name)
    settings.SANDBOX_ENABLED = False


def test_the_settings_come_from_onecloud_variables(monkeypatch):
    monkeypatch.setenv("ONECLOUD_URL", "https://onecloud.example")
    monkeypatch.setenv("ONECLOUD_TOKEN_URL", "https://onecloud.example/api/token")
    monkeypatch.setenv("ONECLOUD_USERNAME", "portal")
    monkeypatch.setenv("ONECLOUD_PASSWORD", "pw")
    monkeypatch.setenv("ONECLOUD_CATEGORIES", "Billing, Request,")
    monkeypatch.setenv("ONECLOUD_TIME_ZONE", "Asia/Jayapura")

    onecloud = OneCloud(alias="onecloud")

    assert onecloud.create_url == "https://onecloud.example/api/ticket/create"
    assert onecloud.token_url == "https://onecloud.example/api/token"
    assert (onecloud.username, onecloud.password) == ("portal", "pw")
    assert onecloud.categories == ["Billing", "Request"]
    assert onecloud.time_zone == "Asia/Jayapura"
    assert onecloud.configuration_problems() == []


def test_without_settings_the_categories_and_time_zone_are_the_defaults():
    onecloud = OneCloud(alias="onecloud")

    assert onecloud.categories == ["Request", "Question", "Complaint", "Problem"]
    assert onecloud.time_zone == "Asia/Jakarta"
    assert onecloud.configuration_problems() == [
        "ONECLOUD_URL is not set.",
        "Set ONECLOUD_TOKEN, or ONECLOUD_TOKEN_URL with its credentials.",
    ]


def test_options_win_over_the_environment_even_when_empty(monkeypatch):
    monkeypatch.setenv("ONECLOUD_URL", "https://from-env.example")
    monkeypatch.setenv("ONECLOUD_TOKEN_URL", "https://from-env.example/api/token")
    monkeypatch.setenv("ONECLOUD_USERNAME", "portal")
    monkeypatch.setenv("ONECLOUD_PASSWORD", "pw")

    onecloud = OneCloud(alias="onecloud", url="https://from-options.example", password="")

    assert onecloud.url == "https://from-options.example"
    assert onecloud.configuration_problems() == [
        "ONECLOUD_TOKEN_URL needs ONECLOUD_USERNAME and ONECLOUD_PASSWORD."
    ]


def test_the_sandbox_issues_the_tokens_when_no_token_is_set(settings):
    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_URL = "http://127.0.0.1:8001"

    onecloud = OneCloud(alias="onecloud")

    assert onecloud.url == "http://127.0.0.1:8001/onecloud"
    assert onecloud.token_url == "http://127.0.0.1:8001/onecloud/api/token"
    assert (onecloud.username, onecloud.password) == ("sandbox", "sandbox")


def test_a_fixed_token_is_used_even_with_the_sandbox_on(monkeypatch, settings):
    settings.SANDBOX_ENABLED = True
    monkeypatch.setenv("ONECLOUD_TOKEN", "fixed")

    onecloud = OneCloud(alias="onecloud")

    assert onecloud.token_url == ""
    assert onecloud.auth_headers([]) == {"Authorization": "Bearer fixed"}


def test_the_shared_time_outs_are_read_like_its_own_settings(monkeypatch):
    default = OneCloud(alias="onecloud")
    monkeypatch.setenv("PROVIDER_CONNECT_TIMEOUT", "2.5")
    monkeypatch.setenv("PROVIDER_READ_TIMEOUT", "12")
    from_env = OneCloud(alias="onecloud")
    from_options = OneCloud(alias="onecloud", read_timeout=60)

    assert default.http.timeout == (5.0, 30.0)
    assert from_env.http.timeout == (2.5, 12.0)
    assert from_options.http.timeout == (2.5, 60)


def test_a_time_out_that_is_not_a_number_names_the_variable(monkeypatch):
    monkeypatch.setenv("PROVIDER_READ_TIMEOUT", "soon")

    with pytest.raises(ImproperlyConfigured, match="PROVIDER_READ_TIMEOUT must be a number"):
        OneCloud(alias="onecloud")

"""What the shared HTTP layer keeps of a call: never a secret, whatever a provider names it."""

import pytest

from tickets.providers.http import REDACTED, redact


@pytest.mark.parametrize(
    "key",
    [
        "Authorization",
        "authorization",
        "X-Api-Key",
        "api_key",
        "apiKey",
        "token",
        "accessToken",
        "access_token",
        "refresh_token",
        "id_token",
        "password",
        "client_secret",
    ],
)
def test_secret_looking_keys_are_redacted_at_any_depth(key):
    stored = redact({"headers": {key: "s3cret"}, "body": [{"nested": {key: "s3cret"}}]})

    assert stored == {"headers": {key: REDACTED}, "body": [{"nested": {key: REDACTED}}]}


def test_ordinary_fields_are_kept():
    body = {"Name": "Ahmad", "Phone": "60123456789", "subject": "Printer"}

    assert redact(body) == body

import io
import logging
import uuid

import pytest

from tickets.logs import HideCustomerLinks


@pytest.fixture
def console():
    """What the portal's console log handler (the one production writes through) prints."""
    [handler] = [
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, HideCustomerLinks) for f in handler.filters)
    ]
    printed = io.StringIO()
    original = handler.setStream(printed)
    yield printed
    handler.setStream(original)


@pytest.mark.django_db
def test_the_logs_never_carry_a_customers_status_link(client, console):
    link = f"/status/{uuid.uuid4()}/"

    assert client.get(link).status_code == 404

    assert "Not Found: /status/…" in console.getvalue()
    assert link not in console.getvalue()

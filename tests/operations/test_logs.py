import io
import logging
import uuid

import pytest

from tickets.operations.logs import HideCustomerLinks


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


@pytest.mark.django_db
def test_each_line_django_logs_is_printed_once(client, console, settings):
    settings.DEBUG = True  # Django's own console handler prints only in DEBUG
    client.get(f"/status/{uuid.uuid4()}/")

    assert console.getvalue().count("Not Found") == 1
    # Django's logger has no handler of its own that would print the line a second time.
    assert logging.getLogger("django").handlers == []

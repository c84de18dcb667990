"""Cancel, then reopen: the customer told on every channel that the request was closed is told,
on the same channels and in their language, that it goes ahead after all."""

from datetime import UTC, datetime

import pytest
from django.utils import translation

from tests.support.console import make, refreshed, run_action
from tests.support.factories import storehub_data
from tickets.customer.intake import submission_create
from tickets.delivery.whatsapp.templates import message_text
from tickets.models import Status

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Whether a recipient who did not ask gets them is tests/delivery/test_recipients.py's.
    pytest.mark.usefixtures("confirmed_customers"),
]
OPTED_IN = datetime(2026, 1, 1, tzinfo=UTC)


def translated(language: str, text: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


@pytest.mark.parametrize("language", ["ms", "id"])
def test_a_reopened_request_tells_the_customer_it_goes_ahead_after_all(
    admin_client, sandbox, whatsapp, smtp_server, run_worker, language
):
    sandbox.script("storehub", "-10000")
    submission = submission_create(
        provider="storehub", data=storehub_data(whatsapp_updates=True), language=language
    )
    run_worker()
    assert refreshed(submission).status == Status.REJECTED

    # Staff are told, before they confirm, every way the customer hears of it.
    asked = run_action(admin_client, "cancel", submission).content.decode()
    assert "told by e-mail and WhatsApp" in asked
    run_action(admin_client, "cancel", submission, confirm_cancel="yes", reason="Phoned")
    run_worker()
    run_action(admin_client, "reopen", submission)
    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.SENT
    kinds = ["receipt", "rejected", "cancelled", "reopened", "ticket_number"]
    assert list(submission.emails.order_by("pk").values_list("kind", flat=True)) == kinds
    assert list(submission.whatsapp_messages.order_by("pk").values_list("kind", flat=True)) == kinds
    reopened = smtp_server.messages[3]
    assert submission.reference in reopened.subject
    assert translated(language, "Your reference") in reopened.text
    assert "goes ahead" not in reopened.subject + reopened.text  # not English
    message = whatsapp.sent[3]["template"]
    assert (message["name"], message["language"]["code"]) == ("portal_reopened", language)
    values = [p["text"] for p in message["components"][0]["parameters"]]
    assert values[0] == submission.reference
    read = message_text("reopened", language=language, parameters=values)
    assert submission.reference in read and "{{" not in read


def test_the_cancel_confirmation_names_the_channels_of_each_customer(admin_client, whatsapp):
    on_both = make(email="a@example.com", phone="60123456789", whatsapp_opt_in_at=OPTED_IN)
    on_whatsapp = make(email="", phone="60123456780", whatsapp_opt_in_at=OPTED_IN)
    by_email = make(email="b@example.com")
    nobody = make(email="")

    page = run_action(admin_client, "cancel", on_both, on_whatsapp, by_email, nobody)

    told = {submission.reference: told for submission, told in page.context["candidates"]}
    assert told == {
        on_both.reference: "told by e-mail and WhatsApp",
        on_whatsapp.reference: "told by WhatsApp",
        by_email.reference: "told by e-mail",
        nobody.reference: "not told: no e-mail address, no WhatsApp updates",
    }
    assert "on the same channels that it goes ahead after all" in page.content.decode()

"""The sandbox's WhatsApp page (``/_sandbox/whatsapp``) shows each message as the customer reads
it on the phone: the template's words in the request's language, the values in their places."""

import urllib.request

import pytest

from tests.support.factories import storehub_data
from tickets.customer.intake import submission_create
from tickets.delivery.whatsapp.templates import TEMPLATE_TEXTS, message_text

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Whether a recipient who did not ask gets them is tests/delivery/test_recipients.py's.
    pytest.mark.usefixtures("confirmed_customers"),
]


def sandbox_page(sandbox) -> str:
    with urllib.request.urlopen(sandbox.url + "/_sandbox/whatsapp", timeout=5) as page:  # noqa: S310
        return page.read().decode()


@pytest.mark.parametrize("language", ["en", "ms", "id"])
def test_each_message_reads_as_the_customer_reads_it(sandbox, whatsapp, run_worker, language):
    submission = submission_create(
        provider="storehub", data=storehub_data(whatsapp_updates=True), language=language
    )
    run_worker()
    submission.refresh_from_db()

    page = sandbox_page(sandbox)

    number = message_text(
        "ticket_number",
        language=language,
        parameters=[submission.reference, submission.case_number, "STATUS"],
    ).split("STATUS")[0]
    assert number in page and submission.case_number in page
    assert f'<p lang="{language}" class="message">' in page
    assert "{{" not in page
    if language != "en":
        assert TEMPLATE_TEXTS["receipt"].split("{{")[0] not in page  # not the English words


def test_every_template_has_words_in_every_language():
    for kind in TEMPLATE_TEXTS:
        for language in ("en", "ms", "id"):
            text = message_text(kind, language=language, parameters=["A", "B", "C"])
            assert "{{" not in text, (kind, language)
            if language != "en":
                assert text != message_text(kind, language="en", parameters=["A", "B", "C"])

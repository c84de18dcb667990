"""The privacy notice: who runs the portal, what it keeps and why, linked wherever details are
asked for or sent."""

import pytest
from django.urls import reverse

from tests.conftest import PRODUCTION_ENVIRONMENT
from tests.support.factories import storehub_data
from tests.support.manage import run_manage
from tickets.customer.intake import submission_create
from tickets.models import OutgoingEmail

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(settings):
    settings.OPERATOR_NAME = "Kedai Digital Sdn Bhd"
    settings.OPERATOR_CONTACT = "+60 3-1234 5678"
    settings.PRIVACY_CONTACT = "privasi@kedai.example.my"
    settings.RETENTION_DAYS = 180


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["This portal is run by Kedai Digital Sdn Bhd", "deleted 180 days after"]),
        ("ms", ["Portal ini dikendalikan oleh Kedai Digital Sdn Bhd", "dipadam 180 hari selepas"]),
        ("id", ["Portal ini dikelola oleh Kedai Digital Sdn Bhd", "dihapus 180 hari setelah"]),
    ],
)
def test_the_notice_says_who_what_why_who_receives_and_how_long(client, operator, language, words):
    page = client.get(reverse("tickets:privacy"), HTTP_ACCEPT_LANGUAGE=language).content.decode()

    for said in words:
        assert said in page
    assert "privasi@kedai.example.my" in page
    # Who receives the request: each service customers can send to.
    assert "StoreHub" in page and "OneCloud" in page


@pytest.mark.parametrize("path", ["/", "/storehub/", "/onecloud/", "/privacy/"])
def test_every_page_names_the_operator_and_links_the_notice(client, operator, path):
    page = client.get(path, follow=True).content.decode()

    assert "Run by Kedai Digital Sdn Bhd" in page
    assert "+60 3-1234 5678" in page
    assert 'href="/privacy/"' in page


def test_each_form_links_the_notice_beside_its_send_button(client, operator):
    for alias in ("storehub", "onecloud"):
        page = client.get(reverse("tickets:form", args=[alias])).content.decode()
        after_the_form = page.split('<div class="request-form">', 1)[1]
        assert 'see our <a href="/privacy/">privacy notice</a>' in after_the_form


@pytest.mark.django_db(transaction=True)
def test_the_customers_e_mails_link_the_notice(operator, run_worker, smtp_server, settings):
    settings.PORTAL_URL = "https://help.example.my"
    submission = submission_create(provider="storehub", data=storehub_data())

    run_worker()

    receipt = submission.emails.get(kind=OutgoingEmail.Kind.RECEIPT)
    assert receipt.state == OutgoingEmail.State.SENT
    [message] = [m for m in smtp_server.messages if "received your request" in m.text]
    assert "https://help.example.my/privacy/" in message.text
    assert "Run by Kedai Digital Sdn Bhd" in message.text
    assert 'href="https://help.example.my/privacy/"' in message.html


@pytest.mark.system
def test_production_without_an_operator_is_warned_about():
    result = run_manage(
        "check", **(PRODUCTION_ENVIRONMENT | {"OPERATOR_NAME": "", "PRIVACY_CONTACT": ""})
    )

    assert "tickets.W005" in result.stderr and "OPERATOR_NAME or PRIVACY_CONTACT" in result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "words"), [("en", "WhatsApp (Meta)"), ("ms", "BERHENTI"), ("id", "BERHENTI")]
)
def test_the_notice_names_whatsapp_while_customers_are_offered_it(
    client, settings, language, words
):
    on = client.get("/privacy/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    settings.WHATSAPP = {**settings.WHATSAPP, "PHONE_NUMBER_ID": "", "ACCESS_TOKEN": ""}
    off = client.get("/privacy/", HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert 'id="privacy-whatsapp"' in on and words in on
    assert 'id="privacy-whatsapp"' not in off

"""WhatsApp's settings: on with a number and a token; a check names each template missing."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from tickets.channels import whatsapp_is_on, whatsapp_missing_settings


def test_off_without_a_number_or_a_token(settings):
    settings.WHATSAPP = {**settings.WHATSAPP, "PHONE_NUMBER_ID": "", "ACCESS_TOKEN": ""}

    assert not whatsapp_is_on()
    assert whatsapp_missing_settings() == []


@pytest.mark.django_db
def test_a_check_names_each_template_missing(settings):
    settings.WHATSAPP = {
        **settings.WHATSAPP,
        "PHONE_NUMBER_ID": "100200300400500",
        "ACCESS_TOKEN": "EAAG-example",
        "TEMPLATES": {
            "receipt": "portal_receipt",
            "ticket_number": "",
            "rejected": "portal_rejected",
            "cancelled": "",
        },
    }

    with pytest.raises(SystemCheckError) as raised:
        call_command("check", fail_level="WARNING")

    assert "tickets.W006" in str(raised.value)
    assert "WHATSAPP_TEMPLATE_TICKET_NUMBER, WHATSAPP_TEMPLATE_CANCELLED" in str(raised.value)

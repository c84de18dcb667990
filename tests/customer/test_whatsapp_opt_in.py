"""The WhatsApp opt-in on the forms: offered only while WhatsApp is on, unticked, next to the
phone number it goes to; ticked, it needs a number and records when and how it was given."""

import re

import pytest

from tests.support.factories import form_post
from tickets.models import Submission

pytestmark = pytest.mark.django_db


def page(client, provider: str, language: str = "en") -> str:
    return client.get(f"/{provider}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_while_whatsapp_is_off_no_form_offers_it(client, settings):
    settings.WHATSAPP = {**settings.WHATSAPP, "PHONE_NUMBER_ID": "", "ACCESS_TOKEN": ""}

    for provider in ("storehub", "onecloud"):
        assert 'name="whatsapp_updates"' not in page(client, provider)
    # OneCloud asks for a phone number only for WhatsApp.
    assert 'name="phone"' not in page(client, "onecloud")


@pytest.mark.parametrize(
    ("language", "label"),
    [
        ("en", "Send me updates on WhatsApp"),
        ("ms", "Hantar makluman kepada saya melalui WhatsApp"),
        ("id", "Kirimi saya kabar terbaru lewat WhatsApp"),
    ],
)
def test_each_form_offers_it_unticked_after_the_phone_number(client, whatsapp, language, label):
    for provider in ("storehub", "onecloud"):
        html = page(client, provider, language)

        box = re.search(r'<input type="checkbox" name="whatsapp_updates"[^>]*>', html).group(0)
        assert "checked" not in box
        assert label in html
        assert html.index('name="phone"') < html.index('name="whatsapp_updates"')


def test_ticked_without_a_phone_number_asks_for_one(client, whatsapp):
    response = client.post("/onecloud/", form_post("onecloud", whatsapp_updates=True))

    assert response.status_code == 200
    assert "Give the phone number the WhatsApp updates should go to." in response.content.decode()
    assert not Submission.objects.exists()


def test_ticked_with_an_indonesian_number_records_the_consent(client, whatsapp):
    response = client.post(
        "/onecloud/",
        form_post("onecloud", whatsapp_updates=True, phone="0812-3456-7890"),
        HTTP_ACCEPT_LANGUAGE="id",
    )

    assert response.status_code == 302
    submission = Submission.objects.get()
    assert submission.phone == "6281234567890"
    assert submission.whatsapp_opt_in_at is not None
    assert submission.whatsapp_opt_in == "onecloud:id"


def test_unticked_records_no_consent(client, whatsapp):
    client.post("/storehub/", form_post("storehub"))

    submission = Submission.objects.get()
    assert submission.whatsapp_opt_in_at is None and submission.whatsapp_opt_in == ""


def test_a_tick_posted_while_whatsapp_is_off_is_ignored(client, settings):
    settings.WHATSAPP = {**settings.WHATSAPP, "PHONE_NUMBER_ID": "", "ACCESS_TOKEN": ""}

    client.post("/storehub/", form_post("storehub", whatsapp_updates=True))

    assert Submission.objects.get().whatsapp_opt_in_at is None

"""Phone numbers read the way each form says: the examples in a form's help and in its error are
numbers that form takes, in every language, and a number of either country a provider serves is
taken, or refused with an example that is."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from tests.support.factories import form_post
from tests.support.pages import errors_of
from tickets.models import Submission
from tickets.providers import enabled_providers

pytestmark = pytest.mark.django_db

# A phone number as the portal's texts write one: an optional plus, digits, spaces and dashes.
WRITTEN_NUMBER = re.compile(r"\+?\d[\d -]{6,}\d")


def examples_in(text: str) -> list[str]:
    return WRITTEN_NUMBER.findall(text)


@pytest.mark.parametrize("language", ["en", "ms", "id"])
@pytest.mark.parametrize("region", ["MY", "ID"])
def test_every_example_a_form_gives_is_a_number_it_takes(whatsapp, settings, language, region):
    settings.PHONE_DEFAULT_REGION = region
    for provider in enabled_providers():
        field = provider.form().fields["phone"]
        with translation.override(language):
            help_text, error = str(field.help_text), field.invalid_message()
        examples = examples_in(help_text)
        # The help and the error give the same examples, at least one of each kind.
        assert examples and examples == examples_in(error), provider.alias
        assert any(not example.startswith("+") for example in examples)
        for example in examples:
            assert field.clean(example), (provider.alias, example)


def test_on_onecloud_a_malaysian_number_is_taken_with_60_or_refused_with_one_that_is(
    client, whatsapp
):
    taken = client.post(
        "/onecloud/", form_post("onecloud", whatsapp_updates=True, phone="+60 13-222 3344")
    )
    assert taken.status_code == 302
    assert Submission.objects.get().phone == "60132223344"

    refused = client.post(
        "/onecloud/", form_post("onecloud", whatsapp_updates=True, phone="013-222 3344")
    )
    (error,) = errors_of(refused, "phone")
    assert "+60 12-345 6789" in error
    assert "+60 12-345 6789" in refused.context["form"].fields["phone"].help_text
    field = refused.context["form"].fields["phone"]
    for example in examples_in(error):
        field.clean(example)


def test_on_storehub_a_malaysian_number_is_taken_as_typed(client):
    response = client.post("/storehub/", form_post("storehub", phone="013-222 3344"))

    assert response.status_code == 302
    assert Submission.objects.get().phone == "60132223344"


def test_a_number_of_neither_country_without_its_code_is_refused(whatsapp):
    for provider in enabled_providers():
        with pytest.raises(ValidationError):
            provider.form().fields["phone"].clean("12345")

"""StoreHub's form beyond its contract (form_contract.py): phone numbers as people type them,
the shop's location required, near misses of the documented choices, and the stored types."""

import pytest

from tests.support.factories import storehub_post
from tests.support.pages import errors_of
from tickets.models import Submission

pytestmark = pytest.mark.django_db

URL = "/storehub/"


# --- phone numbers ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+60 12-345 6789", "60123456789"),
        ("012-345 6789", "60123456789"),
        ("012 345 6789", "60123456789"),
        ("0123456789", "60123456789"),
        ("60123456789", "60123456789"),
        ("+60 11-1234 5678", "601112345678"),
        ("(03) 2161 1234", "60321611234"),
        ("+62 812-3456-7890", "6281234567890"),
    ],
)
def test_phone_numbers_are_normalised_to_digits_with_the_country_code(client, typed, stored):
    response = client.post(URL, storehub_post(phone=typed))

    assert response.status_code == 302
    assert Submission.objects.get().phone == stored


@pytest.mark.parametrize("typed", ["12345", "call me", "+60 12", "0" * 30, "+999 123 4567"])
def test_a_phone_number_that_cannot_be_dialled_is_refused_with_an_example(client, typed):
    response = client.post(URL, storehub_post(phone=typed))

    assert errors_of(response, "phone") == [
        "Enter a phone number such as 012-345 6789 or +60 12-345 6789."
    ]
    # What the customer typed is shown again, to be corrected rather than retyped.
    assert f'value="{typed}"' in response.content.decode()


def test_the_default_phone_region_is_a_setting(client, settings):
    settings.PHONE_DEFAULT_REGION = "ID"

    client.post(URL, storehub_post(phone="0812-3456-7890"))

    assert Submission.objects.get().phone == "6281234567890"


# --- location and choices -----------------------------------------------------------------
def test_the_location_is_required_with_a_hint_to_use_the_map(client):
    response = client.post(URL, storehub_post(latitude="", longitude=""))

    assert errors_of(response, "latitude") == [
        "Tap the map where your shop is, or type its latitude."
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [("priority", "2"), ("priority", "high"), ("service_id", "4"), ("state", "Bali")],
)
def test_a_near_miss_of_the_documented_choices_is_refused(client, field, value):
    response = client.post(URL, storehub_post(**{field: value}))

    assert "Select a valid choice" in str(errors_of(response, field)[0])
    assert Submission.objects.count() == 0


def test_the_request_is_stored_with_the_documented_types(client):
    client.post(URL, storehub_post(phone="+60 12-345 6789", priority="0", service_id="18"))

    submission = Submission.objects.get()
    assert submission.phone == "60123456789"
    assert submission.details["receive_sms"] is True
    assert submission.details["priority"] == 0
    assert submission.details["service_id"] == 18

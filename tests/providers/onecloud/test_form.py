"""OneCloud's form beyond its contract (form_contract.py): categories from the settings, and a
coordinate that is one value, so both halves or neither."""

import pytest

from tests.support.factories import form_post, set_provider_options
from tests.support.pages import errors_of, form_url
from tickets.models import Submission
from tickets.providers import get_provider

pytestmark = pytest.mark.django_db


def test_the_categories_come_from_the_settings(client, settings):
    set_provider_options(settings, "onecloud", categories=["Billing", "Request"])

    assert [v for v, _ in get_provider("onecloud").form().fields["category"].choices] == [
        "",
        "Billing",
        "Request",
    ]
    refused = client.post(form_url("onecloud"), form_post("onecloud", category="Complaint"))
    assert errors_of(refused, "category")
    accepted = client.post(form_url("onecloud"), form_post("onecloud", category="Billing"))
    assert accepted.status_code == 302


def test_the_location_is_optional_but_needs_both_halves(client):
    empty = form_post("onecloud", latitude="", longitude="")
    assert client.post(form_url("onecloud"), empty).status_code == 302
    assert Submission.objects.get().latitude is None

    half = client.post(form_url("onecloud"), form_post("onecloud", latitude="3.1", longitude=""))
    assert errors_of(half, "longitude") == ["Give the longitude too, or leave both empty."]

"""The shared pages adapt to what each provider's form has, not to which provider it is: "Find
my request" only beside a form that asks for a phone number."""

import pytest
from django.core.cache import cache

from tests.bare_providers import Bare, UnlaidPhone, WithMap, WithPhone, register
from tickets.providers import get_provider

pytestmark = pytest.mark.django_db

FIND_LINK = 'href="/find/"'


@pytest.fixture(autouse=True)
def no_rate_limit():
    cache.clear()
    yield
    cache.clear()


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


# --- what a form declares -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("provider", "phone"),
    [(Bare, False), (WithPhone, True), (WithMap, False), (UnlaidPhone, False)],
)
def test_a_form_says_whether_it_asks_for_a_phone(settings, provider, phone):
    register(settings, third=provider)

    assert get_provider("third").form().asks_for_phone == phone


def test_the_configured_forms_ask_for_a_phone():
    for alias in ("onecloud", "storehub"):
        assert get_provider(alias).form().asks_for_phone, alias


def test_onecloud_asks_for_a_phone_only_while_whatsapp_is_on(settings):
    settings.WHATSAPP = {**settings.WHATSAPP, "PHONE_NUMBER_ID": ""}

    assert not get_provider("onecloud").form().asks_for_phone
    assert get_provider("storehub").form().asks_for_phone


# --- Find my request ----------------------------------------------------------------------
def test_a_form_without_a_phone_field_does_not_offer_find_my_request(client, settings):
    register(settings, onecloud=None, storehub=None, third=Bare)

    assert FIND_LINK not in page(client, "/third/")
    assert FIND_LINK in page(client, "/storehub/")
    # Some service asks for a phone number: its requests can be found from the landing page.
    assert FIND_LINK in page(client, "/")


def test_a_form_with_errors_without_a_phone_field_does_not_offer_it_either(client, settings):
    register(settings, onecloud=None, third=Bare)

    response = client.post("/third/", {"name": "Siti"})

    assert response.status_code == 200 and "error-summary" in response.content.decode()
    assert FIND_LINK not in response.content.decode()


def test_a_phone_field_left_out_of_the_layout_does_not_count(client, settings):
    register(settings, storehub=None, third=UnlaidPhone)

    assert FIND_LINK not in page(client, "/third/")


def test_no_service_asks_for_a_phone_so_the_landing_page_does_not_offer_it(client, settings):
    register(settings, third=Bare, fourth=WithMap)

    assert FIND_LINK not in page(client, "/")
    assert FIND_LINK not in page(client, "/fourth/")


def test_a_third_form_with_a_phone_offers_find_my_request(client, settings):
    register(settings, third=Bare, fourth=WithPhone)

    assert FIND_LINK in page(client, "/fourth/")
    assert FIND_LINK in page(client, "/")


def test_onecloud_offers_find_my_request_only_while_it_asks_for_a_phone(client, settings):
    settings.WHATSAPP = {**settings.WHATSAPP, "PHONE_NUMBER_ID": ""}

    assert FIND_LINK not in page(client, "/onecloud/")
    assert FIND_LINK in page(client, "/storehub/")

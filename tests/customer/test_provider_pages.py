"""The shared pages adapt to what each provider's form has, not to which provider it is: "Find
my request" only beside a form that asks for a phone number, the map library only on a form
with a map. The landing page's cards for any number of services: e2e/test_landing_cards.py."""

import re

import pytest
from django.core.cache import cache

from tests.support.bare_providers import Bare, UnlaidPhone, WithMap, WithPhone, register
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


def map_assets(html: str) -> list[str]:
    """The map library and the map's script, as the page loads them."""
    return re.findall(r'(?:src|href)="[^"]*(?:leaflet|location_map)[^"]*"', html)


# --- what a form declares -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("provider", "phone", "has_map"),
    [
        (Bare, False, False),
        (WithPhone, True, False),
        (WithMap, False, True),
        (UnlaidPhone, False, False),
    ],
)
def test_a_form_says_whether_it_asks_for_a_phone_and_has_a_map(settings, provider, phone, has_map):
    register(settings, third=provider)

    form = get_provider("third").form()

    assert (form.asks_for_phone, form.has_map) == (phone, has_map)


def test_the_configured_forms_ask_for_a_phone_and_have_a_map():
    for alias in ("onecloud", "storehub"):
        form = get_provider(alias).form()
        assert form.asks_for_phone and form.has_map, alias


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


# --- the map ------------------------------------------------------------------------------
def test_a_form_without_a_map_does_not_load_the_map_library(client, settings):
    register(settings, storehub=None, third=Bare, fourth=WithPhone)

    for path in ("/third/", "/fourth/"):
        html = page(client, path)
        assert map_assets(html) == [], path
        assert 'id="location-map"' not in html, path
    # The rest of the page's scripts are still there.
    assert "tickets/request_form.js" in page(client, "/third/")


def test_a_form_with_errors_and_no_map_does_not_load_it_either(client, settings):
    register(settings, storehub=None, third=Bare)

    response = client.post("/third/", {"name": "Siti"})

    assert "error-summary" in response.content.decode()
    assert map_assets(response.content.decode()) == []


@pytest.mark.parametrize("path", ["/onecloud/", "/storehub/", "/fourth/"])
def test_a_form_with_a_map_loads_the_library_its_styles_and_the_map_script(client, settings, path):
    register(settings, onecloud=None, storehub=None, fourth=WithMap)

    html = page(client, path)

    assert map_assets(html) == [
        'href="/static/vendor/leaflet/leaflet.css"',
        'src="/static/vendor/leaflet/leaflet.js"',
        'src="/static/tickets/location_map.js"',
    ]
    assert 'id="location-map"' in html


def test_the_empty_form_rendered_once_keeps_each_provider_s_own_assets(client, settings):
    # Outside DEBUG the empty form page is rendered once per provider and kept.
    settings.DEBUG = False
    register(settings, storehub=None, third=Bare)

    for _ in range(2):
        assert map_assets(page(client, "/third/")) == []
        assert FIND_LINK not in page(client, "/third/")
        assert len(map_assets(page(client, "/storehub/"))) == 3
        assert FIND_LINK in page(client, "/storehub/")

"""The portal on a phone's home screen: a web app manifest every customer page names, with the
project's own icons (scripts/make_icons.py), in the page's language."""

import json

import pytest
from django.contrib.staticfiles import finders
from PIL import Image

pytestmark = pytest.mark.django_db


def manifest(client, language="en"):
    response = client.get("/manifest.webmanifest", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    return json.loads(response.content)


def test_every_customer_page_names_the_manifest_and_the_theme_colour(client):
    for url in ("/", "/storehub/", "/find/", "/privacy/"):
        page = client.get(url, follow=True).content.decode()
        assert '<link rel="manifest" href="/manifest.webmanifest">' in page, url
        assert '<meta name="theme-color" content="#0d6efd">' in page, url


def test_the_manifest_opens_the_portal_standalone_at_its_root(client, settings):
    found = manifest(client)

    assert found["start_url"] == "/" and found["scope"] == "/"
    assert found["display"] == "standalone"
    assert found["name"] == f"Support portal · {settings.OPERATOR_NAME}"
    assert found["short_name"] == "Support portal"
    assert found["theme_color"] == "#0d6efd"


@pytest.mark.parametrize(
    ("language", "short_name"), [("ms", "Portal sokongan"), ("id", "Portal dukungan")]
)
def test_the_manifest_speaks_the_customers_language(client, language, short_name):
    found = manifest(client, language)

    assert found["lang"] == language
    assert found["short_name"] == short_name


def test_icons_at_192_and_512_px_for_any_launcher_and_for_masks(client):
    icons = manifest(client)["icons"]

    assert {(icon["sizes"], icon["purpose"]) for icon in icons} == {
        ("192x192", "any"),
        ("512x512", "any"),
        ("192x192", "maskable"),
        ("512x512", "maskable"),
    }
    for icon in icons:
        path = finders.find(icon["src"].removeprefix("/static/"))
        assert path, icon["src"]
        with Image.open(path) as image:
            assert f"{image.width}x{image.height}" == icon["sizes"]
            assert image.format == "PNG"
            if icon["purpose"] == "maskable":
                # A mask may cut anything outside the middle circle: the corners are ground.
                assert image.convert("RGBA").getpixel((0, 0))[3] == 255

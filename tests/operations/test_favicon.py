"""The portal's icon: at /favicon.ico, where browsers ask for it, and linked from the staff
console's pages; the customer's pages name none, sparing a slow connection a request."""

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

ICO_MAGIC = b"\x00\x00\x01\x00"


def test_favicon_ico_is_the_projects_icon(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert response.content.startswith(ICO_MAGIC)
    with open(finders.find("favicon.ico"), "rb") as icon:
        assert response.content == icon.read()
    assert "max-age" in response["Cache-Control"]


def test_the_console_links_the_icon_and_the_customer_pages_spare_the_request(client):
    login = client.get("/admin/login/").content.decode()
    link = re.search(r'<link rel="icon" href="([^"]+)">', login)
    assert link and link.group(1).endswith("favicon.ico")

    assert '<link rel="icon" href="data:,">' in client.get("/storehub/").content.decode()

"""The portal with no signal, as the server gives it: the service worker at the root, its version,
what it may keep, the offline page in each language and the fresh tokens a kept form sends with.

The worker's behaviour in a browser is proved in tests/e2e/test_offline.py.
"""

import json
import re
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse

from tests.support.factories import form_post
from tickets.customer import offline
from tickets.customer.browser import COOKIE_NAME
from tickets.models import Submission

pytestmark = pytest.mark.django_db

FORM_URL = reverse("tickets:form", args=["storehub"])
STATUS = "/status/3f2b8c1e-9a4d-4e7b-8c6f-1a2b3c4d5e6f/"


@pytest.fixture(autouse=True)
def _each_test_a_new_process():
    offline._cached_version.cache_clear()
    yield
    offline._cached_version.cache_clear()


def worker_config(client) -> dict:
    script = client.get("/service-worker.js").content.decode()
    return json.loads(re.search(r"^var CONFIG = (.*);$", script, re.M).group(1))


def test_the_service_worker_is_served_at_the_root_and_never_from_a_cache(client):
    response = client.get("/service-worker.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "no-cache" in response["Cache-Control"]
    assert response["Service-Worker-Allowed"] == "/"
    config = worker_config(client)
    assert re.fullmatch(r"[0-9a-f]{16}", config["version"])
    assert config["offline"] == {code: f"/offline/{code}/" for code in ("en", "ms", "id")}
    assert config["tokens"] == "/send-tokens.json"


@pytest.mark.parametrize("path", ["/", "/storehub/", "/onecloud/", STATUS, "/privacy/"])
def test_the_pages_a_customer_has_seen_may_be_kept(client, path):
    assert any(re.search(pattern, path) for pattern in worker_config(client)["keep"])


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/tickets/submission/",
        "/find/",
        "/find/code/",
        "/metrics",
        "/healthz",
        "/whatsapp/webhook/",
        "/i18n/setlang/",
        "/send-tokens.json",
        "/service-worker.js",
        STATUS.rstrip("/") + ".json",
        "/nowhere/",
    ],
)
def test_the_console_find_my_request_and_the_machinery_are_never_kept(client, path):
    assert not any(re.search(pattern, path) for pattern in worker_config(client)["keep"])


def test_the_staff_console_is_left_alone_entirely(client):
    passing = worker_config(client)["pass"]
    for path in ("/admin/", "/metrics", "/healthz", "/whatsapp/webhook/", "/i18n/setlang/"):
        assert any(re.search(pattern, path) for pattern in passing), path


def test_a_release_with_other_static_files_is_a_new_worker(client, monkeypatch):
    first = worker_config(client)["version"]
    assert worker_config(client)["version"] == first  # the same release: the same bytes

    renamed = SimpleNamespace(hashed_files={"tickets/phone.js": "tickets/phone.0123456789ab.js"})
    monkeypatch.setattr(offline, "staticfiles_storage", renamed)
    offline._cached_version.cache_clear()  # a deploy: a new process

    assert worker_config(client)["version"] != first


def test_a_release_with_other_forms_is_a_new_worker(client, monkeypatch):
    first = worker_config(client)["version"]
    monkeypatch.setattr(offline, "enabled_providers", lambda: [SimpleNamespace(alias="storehub")])

    changed = worker_config(client)
    assert changed["version"] != first
    assert not any(re.search(pattern, "/onecloud/") for pattern in changed["keep"])


@pytest.mark.parametrize(
    ("language", "heading"),
    [("en", "No connection"), ("ms", "Tiada sambungan"), ("id", "Tidak ada koneksi")],
)
def test_the_offline_page_is_in_each_language_whatever_the_cookie(client, language, heading):
    response = client.get(f"/offline/{language}/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response["Content-Language"] == language
    page = response.content.decode()
    assert f'<html lang="{language}">' in page
    assert f'<h1 class="h3">{heading}</h1>' in page
    # Nothing in it that offline could not use: no language switcher, no token.
    assert "csrfmiddlewaretoken" not in page and "<script" not in page


def test_an_unknown_language_has_no_offline_page(client):
    assert client.get("/offline/fr/").status_code == 404


def test_fresh_tokens_are_never_cached_and_give_the_browser_its_cookie(client):
    response = client.get("/send-tokens.json")

    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    assert COOKIE_NAME in response.cookies
    tokens = response.json()
    assert tokens["csrf_token"] and tokens["form_token"]
    assert client.get("/send-tokens.json").json()["form_token"] != tokens["form_token"]


def test_a_kept_form_sent_with_fresh_tokens_is_stored_once_however_often_it_is_sent():
    browser = Client(enforce_csrf_checks=True)
    browser.get(FORM_URL)  # the visit online whose page the phone kept
    tokens = browser.get("/send-tokens.json").json()
    data = form_post(
        "storehub", form_token=tokens["form_token"], csrfmiddlewaretoken=tokens["csrf_token"]
    )

    first = browser.post(FORM_URL, data, HTTP_ACCEPT="application/json")
    again = browser.post(FORM_URL, data, HTTP_ACCEPT="application/json")  # the answer was lost

    assert first.status_code == 201 and again.status_code == 201
    assert again.json()["reference"] == first.json()["reference"]
    assert Submission.objects.count() == 1

"""Headers, CSP, rate limit, request size, admin lockout and /healthz on the public portal."""

import ipaddress
import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import reverse

from tests.providers import PROVIDERS
from tests.support.factories import form_post, storehub_data
from tickets.customer.intake import submission_create
from tickets.models import Submission
from tickets.operations.client_address import client_ip

pytestmark = pytest.mark.django_db


def public_pages(client) -> list[str]:
    submission = submission_create(provider="storehub", data=storehub_data())
    return [
        reverse("tickets:landing"),
        *(reverse("tickets:form", args=[alias]) for alias in settings.TICKET_PROVIDERS),
        reverse("tickets:status", args=[submission.public_id]),
        "/no-such-page/",
    ]


def test_every_public_page_carries_the_security_headers_and_the_csp(client, settings):
    for path in public_pages(client):
        response = client.get(path, follow=True)
        csp = response["Content-Security-Policy"]
        # Scripts from this site, plus the per-response nonce when a page uses one.
        assert re.search(r"script-src 'self'( 'nonce-[\w+/=-]+')?;", csp), path
        assert "default-src 'self'" in csp
        assert "object-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        # The tile server may serve images and nothing else.
        assert "img-src 'self' data: https://tile.openstreetmap.org" in csp
        assert csp.count("tile.openstreetmap.org") == 1
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"
        # The map may ask for the phone's position; nothing else may be asked for.
        policy = dict(
            rule.strip().split("=", 1) for rule in response["Permissions-Policy"].split(",")
        )
        assert policy["geolocation"] == "(self)"
        assert policy["camera"] == policy["microphone"] == "()"


def test_the_language_choice_is_kept_in_a_cookie_no_other_site_or_script_gets(client, settings):
    response = client.post(reverse("set_language"), {"language": "ms", "next": "/"})

    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "ms"
    assert cookie["samesite"] == "Lax"
    assert cookie["httponly"]


def test_no_public_page_has_an_inline_script_without_a_nonce(client):
    for path in public_pages(client):
        html = client.get(path, follow=True).content.decode()
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or "nonce=" in tag, (path, tag)
        assert " on" + "click=" not in html and "javascript:" not in html


def test_the_form_rate_limit_trips_with_a_friendly_429_and_recovers(client, settings):
    settings.FORM_RATE_LIMIT = 3
    path = reverse("tickets:form", args=["storehub"])
    statuses = [client.post(path).status_code for _ in range(3)]
    assert 429 not in statuses

    refused = client.post(path, {"name": "Siti Aminah", "issue": "Printer jammed"})
    assert refused.status_code == 429
    assert "Please wait a moment" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0
    # The form comes back as it was typed, with no error of its own.
    assert 'value="Siti Aminah"' in refused.content.decode()
    assert "Printer jammed" in refused.content.decode()
    assert "Please check the form" not in refused.content.decode()
    # Reading pages is never limited.
    assert client.get(path).status_code == 200
    # Another client is not affected.
    assert client.post(path, REMOTE_ADDR="10.0.0.9").status_code != 429

    cache.clear()  # the window passes
    assert client.post(path).status_code != 429


def test_the_rate_limit_counts_the_client_behind_our_proxy(client, settings):
    settings.FORM_RATE_LIMIT = 1
    settings.TRUSTED_PROXY_COUNT = 1
    path = reverse("tickets:form", args=["storehub"])
    client.post(path, HTTP_X_FORWARDED_FOR="198.51.100.7")

    assert client.post(path, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429
    assert client.post(path, HTTP_X_FORWARDED_FOR="198.51.100.8").status_code != 429


def test_a_client_reaching_the_web_directly_cannot_choose_its_address(client, settings):
    """Behind one proxy, X-Forwarded-For is believed only from the proxy's network: a client
    that reaches gunicorn itself, rotating the header, is still counted by its own address."""
    settings.FORM_RATE_LIMIT = 1
    settings.TRUSTED_PROXY_COUNT = 1
    path = reverse("tickets:form", args=["storehub"])
    direct = {"REMOTE_ADDR": "203.0.113.9"}
    client.post(path, HTTP_X_FORWARDED_FOR="198.51.100.1", **direct)

    assert client.post(path, HTTP_X_FORWARDED_FOR="198.51.100.2", **direct).status_code == 429
    # Through the proxy the operator named (as compose names its Caddy), the client's own count.
    settings.TRUSTED_PROXY_NETWORKS = [ipaddress.ip_network("172.18.0.5/32")]
    assert (
        client.post(path, HTTP_X_FORWARDED_FOR="198.51.100.3", REMOTE_ADDR="172.18.0.5").status_code
        != 429
    )


def test_a_neighbour_on_the_private_network_is_not_a_proxy_unless_named(client, settings):
    """By default only loopback is trusted: another host on the operator's private network
    cannot choose its own address past the form limit (nor the admin lockout)."""
    settings.FORM_RATE_LIMIT = 1
    settings.TRUSTED_PROXY_COUNT = 1
    path = reverse("tickets:form", args=["storehub"])
    neighbour = {"REMOTE_ADDR": "10.0.0.7"}
    client.post(path, HTTP_X_FORWARDED_FOR="198.51.100.1", **neighbour)

    assert client.post(path, HTTP_X_FORWARDED_FOR="198.51.100.2", **neighbour).status_code == 429
    assert client_ip(RequestFactory().get("/", HTTP_X_FORWARDED_FOR="1.2.3.4", **neighbour)) == (
        "10.0.0.7"
    )


def test_behind_two_proxies_the_address_the_outer_one_saw_counts(client, settings):
    """The one-machine image's own front behind an operator's TLS proxy: two proxies append. A
    client that reaches the inner front directly is counted by the address the front saw."""
    settings.FORM_RATE_LIMIT = 1
    settings.TRUSTED_PROXY_COUNT = 2
    settings.TRUSTED_PROXY_NETWORKS = [
        ipaddress.ip_network(network) for network in ("127.0.0.0/8", "10.0.0.2/32")
    ]
    path = reverse("tickets:form", args=["storehub"])
    front = {"REMOTE_ADDR": "127.0.0.1"}
    client.post(path, HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.1, 10.0.0.2", **front)

    # Through both proxies: the client the outer proxy saw, whatever the client itself wrote.
    again = client.post(path, HTTP_X_FORWARDED_FOR="10.8.8.8, 198.51.100.1, 10.0.0.2", **front)
    assert again.status_code == 429
    other = client.post(path, HTTP_X_FORWARDED_FOR="198.51.100.1, 198.51.100.2, 10.0.0.2", **front)
    assert other.status_code != 429
    # Around the outer proxy: the front saw 203.0.113.5, which the client cannot rotate.
    client.post(path, HTTP_X_FORWARDED_FOR="198.51.100.3, 203.0.113.5", **front)
    bypass = client.post(path, HTTP_X_FORWARDED_FOR="198.51.100.4, 203.0.113.5", **front)
    assert bypass.status_code == 429


def test_only_forms_sent_count_towards_the_limit(client, settings):
    """A language switch and a post the CSRF check refuses are not a request sent."""
    settings.FORM_RATE_LIMIT = 2
    form = reverse("tickets:form", args=["storehub"])
    for _ in range(5):
        client.post(reverse("set_language"), {"language": "ms", "next": form})
    strict = Client(enforce_csrf_checks=True)
    for _ in range(5):
        assert strict.post(form, {}).status_code == 403

    assert [client.post(form, {}).status_code for _ in range(3)] == [200, 200, 429]


def test_the_wait_page_is_in_the_language_the_browser_asks_for(client, settings):
    settings.FORM_RATE_LIMIT = 0
    form = reverse("tickets:form", args=["onecloud"])

    refused = client.post(form, {}, HTTP_ACCEPT_LANGUAGE="id")

    assert refused.status_code == 429
    assert '<html lang="id"' in refused.content.decode()
    assert "Please wait a moment" not in refused.content.decode()


@pytest.mark.parametrize("path", ["/", "/storehub/", "/admin/login/", "/admin/tickets/"])
def test_an_oversized_request_gets_a_clear_413(client, settings, path):
    settings.REQUEST_MAX_BYTES = 1000
    response = client.post(path, data=b"x" * 2000, content_type="application/octet-stream")

    assert response.status_code == 413
    assert "too large" in response.content.decode()


def test_the_413_page_is_in_the_language_of_the_request_not_the_one_before(client, settings):
    settings.REQUEST_MAX_BYTES = 1000
    for language in ("ms", "id", "en"):
        response = client.post(
            "/storehub/", data=b"x" * 2000, content_type="text/plain", HTTP_ACCEPT_LANGUAGE=language
        )
        assert response.status_code == 413
        assert f'<html lang="{language}"' in response.content.decode()


def test_healthz_reports_the_database_and_the_queue_without_personal_data(client, settings):
    submission_create(provider="storehub", data=storehub_data())

    settings.METRICS_TOKEN = "operator"
    response = client.get("/healthz", HTTP_HOST="10.1.2.3", HTTP_AUTHORIZATION="Bearer operator")

    body = response.json()
    assert body["database"] == "ok"
    assert body["queue"]["depth"] == 1
    assert body["queue"]["oldest_waiting_seconds"] >= 0
    assert "Ahmad" not in response.content.decode()


def test_the_admin_login_locks_out_password_guessing(client, django_user_model, settings):
    settings.AXES_FAILURE_LIMIT = 3
    django_user_model.objects.create_superuser("staff", "staff@example.com", "right-password-1")
    login = reverse("admin:login")
    for _ in range(3):
        client.post(login, {"username": "staff", "password": "wrong"})

    locked = client.post(login, {"username": "staff", "password": "right-password-1"})

    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_honeypot_refuses_bots_silently(client, provider):
    form_page = client.get(reverse("tickets:form", args=[provider])).content.decode()
    assert 'name="website"' in form_page
    assert 'aria-hidden="true"' in form_page

    response = client.post(
        reverse("tickets:form", args=[provider]),
        form_post(provider, website="http://cheap-pills.example"),
    )

    assert response.status_code == 200
    assert "We have received your request." in response.content.decode()
    assert "error" not in response.content.decode().lower()
    assert Submission.objects.count() == 0


@pytest.mark.parametrize("provider", PROVIDERS)
def test_people_who_leave_the_honeypot_empty_are_served(client, provider):
    response = client.post(
        reverse("tickets:form", args=[provider]),
        form_post(provider, website=""),
    )

    submission = Submission.objects.get()
    assert response["Location"] == reverse("tickets:status", args=[submission.public_id])


def test_a_forged_forwarded_address_never_breaks_the_login_or_the_forms(client, settings):
    # django-axes stores the address in an IP column: PostgreSQL refuses anything else.
    settings.TRUSTED_PROXY_COUNT = 1
    forged = {"HTTP_X_FORWARDED_FOR": "not-an-ip, <script>"}

    login = client.post(reverse("admin:login"), {"username": "x", "password": "y"}, **forged)
    form = client.post(reverse("tickets:form", args=["storehub"]), {}, **forged)

    assert login.status_code == 200
    assert form.status_code == 200

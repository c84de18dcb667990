"""A staff member with the right password and no device sets one up at the first sign-in: an
authenticator app from a QR code, then recovery codes shown once."""

import re

import pytest
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.support.second_factor import SETUP, VERIFY, app_code, give_app, make_staff, sign_in
from tickets.admin.second_factor.views import NEW_APP_KEY

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _required(settings):
    settings.STAFF_SECOND_FACTOR_REQUIRED = True


def setup_page(client):
    """The setup page, and the key its QR code holds (the same as the typed key)."""
    page = client.get(f"{SETUP}?next=/admin/tickets/submission/")
    return page, client.session[NEW_APP_KEY]


def test_the_setup_page_shows_a_qr_code_drawn_here_and_the_key_to_type(client, django_user_model):
    make_staff(django_user_model)
    sign_in(client)

    page, key = setup_page(client)

    html = page.content.decode()
    assert page.status_code == 200
    assert '<svg viewBox="' in html and 'class="segno"' in html
    typed = re.search(r'<code id="second-factor-key">([A-Z2-7 ]+)</code>', html).group(1)
    assert len(typed.replace(" ", "")) == 32
    assert "<script>" not in html  # no inline script: the CSP forbids it
    assert not re.search(r'src="https?://', html)  # nothing from elsewhere
    assert key


def test_an_app_set_up_with_its_code_then_signs_in_with_a_later_code(client, django_user_model):
    staff = make_staff(django_user_model)
    sign_in(client)
    _page, key = setup_page(client)

    done = client.post(
        SETUP, {"code": app_code(key), "next": "/admin/tickets/submission/"}, follow=False
    )

    # The recovery codes, shown once, then on to the page asked for.
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", done.content.decode())
    assert len(codes) == 10
    assert set(codes) == set(StaticToken.objects.values_list("token", flat=True))
    assert 'href="/admin/tickets/submission/"' in done.content.decode()
    assert client.get("/admin/tickets/submission/").status_code == 200
    assert TOTPDevice.objects.get(user=staff).confirmed

    # Another day: the password, then a code from the app.
    client.post("/admin/logout/")
    sign_in(client)
    assert client.get("/admin/tickets/submission/")["Location"].startswith(VERIFY)
    passed = client.post(
        VERIFY, {"code": app_code(key, steps_ahead=1), "next": "/admin/tickets/submission/"}
    )
    assert passed["Location"] == "/admin/tickets/submission/"
    assert client.get("/admin/tickets/submission/").status_code == 200


def test_a_wrong_code_sets_up_nothing(client, django_user_model):
    make_staff(django_user_model)
    sign_in(client)
    _page, key = setup_page(client)
    wrong = f"{(int(app_code(key)) + 1) % 1_000_000:06d}"

    page = client.post(SETUP, {"code": wrong})

    assert page.status_code == 200
    assert "That code is not the one the app shows" in page.content.decode()
    assert not TOTPDevice.objects.exists()
    assert client.get("/admin/")["Location"].startswith(SETUP)


def test_the_code_that_set_up_the_app_cannot_sign_in_again(client, django_user_model):
    make_staff(django_user_model)
    sign_in(client)
    _page, key = setup_page(client)
    code = app_code(key)
    client.post(SETUP, {"code": code})
    client.post("/admin/logout/")
    sign_in(client)

    page = client.post(VERIFY, {"code": code})

    assert "That code is not right" in page.content.decode()


def test_a_password_alone_cannot_add_a_device_to_an_account_that_has_one(client, django_user_model):
    """Else anyone with the password would set up their own phone and walk in."""
    give_app(make_staff(django_user_model))
    sign_in(client)

    page = client.get(SETUP)
    posted = client.post(SETUP, {"code": "123456"})
    codes = client.post("/admin/second-factor/recovery-codes/")
    devices = client.get("/admin/second-factor/devices/")

    for response in (page, posted, codes, devices):
        assert response.status_code == 302
        assert response["Location"].startswith(VERIFY)
    assert TOTPDevice.objects.count() == 1
    assert not StaticToken.objects.exists()


def test_a_passkey_cannot_be_added_with_the_password_alone_either(client, django_user_model):
    give_app(make_staff(django_user_model))
    sign_in(client)

    response = client.post("/admin/second-factor/passkeys/registration/begin/")

    assert response.status_code == 403


def test_the_pages_ask_for_a_password_first(client):
    for path in (SETUP, VERIFY, "/admin/second-factor/devices/"):
        assert client.get(path)["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("language", ["ms", "id"])
def test_the_setup_page_speaks_malay_and_indonesian(client, django_user_model, language):
    make_staff(django_user_model)
    sign_in(client)

    html = client.get(SETUP, HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert f'lang="{language}"' in html
    for english in ("authenticator app, add an account", "Cannot scan it?", "Or a passkey"):
        assert english not in html

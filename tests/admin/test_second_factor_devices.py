"""Staff manage their own second factor (new recovery codes, passkeys), and a superuser resets
another staff member's for a lost phone."""

import os
import re

import pytest
from django.contrib.auth.models import Permission
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from tests.support.second_factor import SETUP, VERIFY, app_code, give_app, make_staff, sign_in
from tickets.admin.second_factor.services import recovery_codes_renew

pytestmark = pytest.mark.django_db
DEVICES = "/admin/second-factor/devices/"
USERS = "/admin/auth/user/"


@pytest.fixture(autouse=True)
def _required(settings):
    settings.STAFF_SECOND_FACTOR_REQUIRED = True


def passed(client, user, username: str = "staff") -> TOTPDevice:
    """Signed in with the password and the app's code."""
    app = give_app(user)
    sign_in(client, username)
    assert client.post(VERIFY, {"code": app_code(app.key)}).status_code == 302
    return app


def a_passkey(user) -> WebAuthnCredential:
    return WebAuthnCredential.objects.create(
        user=user, credential_id=os.urandom(16), public_key=b"key", confirmed=True
    )


def test_the_devices_page_lists_the_app_the_passkeys_and_the_codes_left(client, django_user_model):
    staff = make_staff(django_user_model)
    passed(client, staff)
    a_passkey(staff)
    recovery_codes_renew(user=staff)

    html = client.get(DEVICES).content.decode()

    assert "Set up on" in html
    assert html.count('name="remove_passkey"') == 1
    assert "10 recovery codes left." in html
    assert 'id="passkey-register-button"' in html


def test_new_recovery_codes_replace_the_old(client, django_user_model):
    staff = make_staff(django_user_model)
    passed(client, staff)
    old = recovery_codes_renew(user=staff)

    page = client.post("/admin/second-factor/recovery-codes/", {"next": DEVICES})

    new = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", page.content.decode())
    assert len(new) == 10
    tokens = set(StaticToken.objects.values_list("token", flat=True))
    assert tokens == set(new) and not tokens & set(old)
    assert f'href="{DEVICES}"' in page.content.decode()


def test_staff_remove_their_own_passkey_and_nobody_elses(client, django_user_model):
    staff = make_staff(django_user_model)
    other = make_staff(django_user_model, "other")
    passed(client, staff)
    mine, theirs = a_passkey(staff), a_passkey(other)

    client.post(DEVICES, {"remove_passkey": theirs.pk})
    client.post(DEVICES, {"remove_passkey": mine.pk})

    assert list(WebAuthnCredential.objects.all()) == [theirs]


def test_a_superuser_resets_a_lost_phone_and_the_next_sign_in_sets_up_anew(
    client, django_user_model
):
    boss = make_staff(django_user_model, "boss")
    agent = make_staff(django_user_model, "agent", superuser=False)
    give_app(agent)
    a_passkey(agent)
    recovery_codes_renew(user=agent)
    passed(client, boss, "boss")
    listing = client.get(USERS).content.decode()
    assert "Reset the second factor" in listing

    done = client.post(
        USERS, {"action": "reset_second_factor", "_selected_action": [agent.pk]}, follow=True
    )

    assert "is reset" in done.content.decode()
    assert not TOTPDevice.objects.filter(user=agent).exists()
    assert not WebAuthnCredential.objects.filter(user=agent).exists()
    assert not StaticToken.objects.filter(device__user=agent).exists()
    assert TOTPDevice.objects.filter(user=boss).exists()
    client.post("/admin/logout/")
    sign_in(client, "agent")
    assert client.get("/admin/")["Location"].startswith(SETUP)


def test_staff_who_may_edit_accounts_but_are_not_superusers_cannot_reset(client, django_user_model):
    manager = make_staff(django_user_model, "manager", superuser=False)
    manager.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "change_user"])
    )
    agent = make_staff(django_user_model, "agent", superuser=False)
    app = give_app(agent)
    passed(client, manager, "manager")

    assert "Reset the second factor" not in client.get(USERS).content.decode()
    client.post(USERS, {"action": "reset_second_factor", "_selected_action": [agent.pk]})

    assert TOTPDevice.objects.filter(pk=app.pk).exists()


def test_the_staff_list_says_who_has_a_second_factor(client, django_user_model):
    boss = make_staff(django_user_model, "boss")
    make_staff(django_user_model, "newcomer", superuser=False)
    passed(client, boss, "boss")

    html = client.get(USERS).content.decode()

    assert re.search(r"boss.*?icon-yes.*?</tr>", html, re.S)
    assert re.search(r"newcomer.*?icon-no.*?</tr>", html, re.S)


def test_no_one_sees_an_apps_secret_in_the_console(client, django_user_model):
    boss = make_staff(django_user_model, "boss")
    passed(client, boss, "boss")

    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404
    assert client.get("/admin/otp_static/staticdevice/").status_code == 404

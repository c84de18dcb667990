"""The staff's second factor in Chromium, under the site's CSP: an authenticator app set up from
the page, and a passkey made and used through Chromium's virtual authenticator (CDP)."""

import base64
import re

import pytest
from django_otp.plugins.otp_static.models import StaticToken
from django_otp_webauthn.models import WebAuthnCredential
from playwright import sync_api

from tests.support.browser import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    assert_accessible,
    csp_violations,
    screenshot,
)
from tests.support.console import make
from tests.support.second_factor import PASSWORD, app_code, make_staff
from tickets.models import Status

pytestmark = pytest.mark.e2e
CONSOLE = "/admin/tickets/submission/"


@pytest.fixture
def staff(settings, django_user_model):
    settings.STAFF_SECOND_FACTOR_REQUIRED = True
    make(status=Status.FAILED, name="Siti Customer")
    return make_staff(django_user_model)


def sign_in_with_password(page, url: str) -> None:
    page.goto(f"{url}/admin/login/?next={CONSOLE}")
    page.fill("#id_username", "staff")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def virtual_authenticator(page) -> None:
    """A platform authenticator that keeps passkeys and verifies the user (a fingerprint)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )


def test_an_authenticator_app_is_set_up_from_the_page(browsing, live_server, staff):
    page = browsing.page()

    sign_in_with_password(page, live_server.url)

    sync_api.expect(page).to_have_url(re.compile(r"/admin/second-factor/setup/\?next="))
    sync_api.expect(page.locator(".second-factor-qr svg")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "second-factor-setup.png"), full_page=True)
    # What a person would type from the app: the key on the page, turned into today's code.
    key = page.locator("#second-factor-key").inner_text().replace(" ", "")
    key_hex = base64.b32decode(key).hex()
    page.fill("#id_code", app_code(key_hex))
    page.click("#second-factor-setup-form input[type=submit]")

    codes = page.locator("#recovery-codes li")
    sync_api.expect(codes).to_have_count(10)
    page.get_by_role("link", name="I have kept them: continue").click()
    sync_api.expect(page).to_have_url(re.compile(re.escape(CONSOLE) + "$"))
    sync_api.expect(page.locator("#result_list")).to_contain_text("Siti Customer")
    assert csp_violations(page) == []


def test_a_passkey_is_made_at_the_first_sign_in_and_used_at_the_next(browsing, live_server, staff):
    page = browsing.page()
    virtual_authenticator(page)

    sign_in_with_password(page, live_server.url)
    sync_api.expect(page).to_have_url(re.compile(r"/admin/second-factor/setup/"))
    page.locator("#passkey-register-button").click()

    # Made: the recovery codes follow, then the console.
    sync_api.expect(page.locator("#recovery-codes li")).to_have_count(10)
    assert WebAuthnCredential.objects.filter(user=staff).count() == 1
    assert StaticToken.objects.filter(device__user=staff).count() == 10
    page.get_by_role("link", name="I have kept them: continue").click()
    sync_api.expect(page.locator("#result_list")).to_contain_text("Siti Customer")

    # The next sign-in: the password, then the passkey.
    page.locator("#logout-form button").click()
    sign_in_with_password(page, live_server.url)
    sync_api.expect(page).to_have_url(re.compile(r"/admin/second-factor/\?next="))
    sync_api.expect(page.locator("#result_list")).to_have_count(0)
    page.locator("#passkey-verification-button").click()

    sync_api.expect(page).to_have_url(re.compile(re.escape(CONSOLE) + "$"))
    sync_api.expect(page.locator("#result_list")).to_contain_text("Siti Customer")
    assert WebAuthnCredential.objects.get(user=staff).last_used_at is not None
    assert csp_violations(page) == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_second_factor_pages_are_accessible(browsing, live_server, staff, viewport):
    page = browsing.page(viewport=viewport, inject_axe=True)
    sign_in_with_password(page, live_server.url)
    sync_api.expect(page.locator(".second-factor-qr svg")).to_be_visible()
    assert_accessible(page, f"second factor setup {viewport['width']}")
    screenshot(page, "second-factor-setup")

    key = page.locator("#second-factor-key").inner_text().replace(" ", "")
    page.fill("#id_code", app_code(base64.b32decode(key).hex()))
    page.click("#second-factor-setup-form input[type=submit]")
    sync_api.expect(page.locator("#recovery-codes li")).to_have_count(10)
    assert_accessible(page, f"recovery codes {viewport['width']}")

    page.goto(f"{live_server.url}/admin/second-factor/devices/")
    sync_api.expect(page.locator("#passkey-register-button")).to_be_visible()
    assert_accessible(page, f"second factor devices {viewport['width']}")
    page.locator("#logout-form button").click()
    sign_in_with_password(page, live_server.url)
    sync_api.expect(page.locator("#id_code")).to_be_visible()
    assert_accessible(page, f"second factor code {viewport['width']}")
    screenshot(page, "second-factor-code")

"""Signing in with a device: the password, then an app's code or a recovery code (each good
once); wrong codes lock the device for longer and longer."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.support.second_factor import VERIFY, app_code, give_app, make_staff, sign_in
from tickets.admin.second_factor.services import recovery_codes_renew

pytestmark = pytest.mark.django_db
CONSOLE = "/admin/tickets/submission/"


@pytest.fixture(autouse=True)
def _required(settings):
    settings.STAFF_SECOND_FACTOR_REQUIRED = True


@pytest.fixture
def staff(django_user_model):
    return make_staff(django_user_model)


def wait_out_the_lock(seconds: float = 3600) -> None:
    """As if the last wrong code had been typed ``seconds`` ago."""
    earlier = timezone.now() - timedelta(seconds=seconds)
    for model in (TOTPDevice, StaticDevice):
        model.objects.exclude(throttling_failure_timestamp=None).update(
            throttling_failure_timestamp=earlier
        )


def enter(client, code: str):
    return client.post(VERIFY, {"code": code, "next": CONSOLE})


def test_the_apps_code_opens_the_console(client, staff):
    app = give_app(staff)
    sign_in(client)

    response = enter(client, app_code(app.key))

    assert response["Location"] == CONSOLE
    assert client.get(CONSOLE).status_code == 200


def test_the_code_page_keeps_the_page_asked_for_and_nothing_from_elsewhere(client, staff):
    app = give_app(staff)
    sign_in(client)

    response = client.post(VERIFY, {"code": app_code(app.key), "next": "https://evil.example/"})

    assert response["Location"] == "/admin/"


def test_a_recovery_code_works_once(client, staff):
    give_app(staff)
    codes = recovery_codes_renew(user=staff)
    sign_in(client)

    # Typed as people type it: spaced, in capitals.
    typed = f"{codes[0][:4].upper()} {codes[0][4:].upper()}"
    assert enter(client, typed)["Location"] == CONSOLE
    client.post("/admin/logout/")
    sign_in(client)

    again = enter(client, codes[0])

    assert again.status_code == 200
    assert "That code is not right" in again.content.decode()
    wait_out_the_lock()
    assert enter(client, codes[1])["Location"] == CONSOLE


def test_wrong_codes_lock_the_app_for_longer_each_time(client, staff):
    app = give_app(staff)
    sign_in(client)

    first = enter(client, "000000" if app_code(app.key) != "000000" else "111111")
    assert "That code is not right" in first.content.decode()
    # Straight away, even the right code is refused: the app is locked for a second, then two...
    locked = enter(client, app_code(app.key))
    assert "Too many wrong codes" in locked.content.decode()
    assert client.get(CONSOLE).status_code == 302

    app.refresh_from_db()
    assert app.throttling_failure_count == 1
    for _ in range(5):
        wait_out_the_lock()
        enter(client, "999999" if app_code(app.key) != "999999" else "888888")
    app.refresh_from_db()
    assert app.throttling_failure_count == 6
    page = enter(client, app_code(app.key)).content.decode()
    assert "Wait 32 seconds" in page or "Wait 31 seconds" in page


def test_once_the_lock_is_over_the_right_code_opens_the_console(client, staff):
    app = give_app(staff)
    sign_in(client)
    enter(client, "000000" if app_code(app.key) != "000000" else "111111")
    # The first lock is a second long.
    wait_out_the_lock(seconds=1.1)

    assert enter(client, app_code(app.key))["Location"] == CONSOLE


def test_wrong_recovery_codes_are_limited_too(client, staff):
    give_app(staff)
    codes = recovery_codes_renew(user=staff)
    sign_in(client)

    enter(client, "notacode")
    locked = enter(client, codes[0])

    assert "Too many wrong codes" in locked.content.decode()


def test_a_session_that_passed_is_asked_again_once_its_device_is_gone(client, staff):
    app = give_app(staff)
    sign_in(client)
    enter(client, app_code(app.key))

    app.delete()

    assert client.get(CONSOLE)["Location"].startswith("/admin/second-factor/setup/")

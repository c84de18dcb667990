"""With STAFF_SECOND_FACTOR_REQUIRED on, the right password alone opens no console page: every
address under /admin/ but signing in and out sends the staff member to the second factor."""

import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PRODUCTION_ENVIRONMENT
from tests.support.console import make, run_action
from tests.support.manage import run_manage
from tests.support.second_factor import SETUP, VERIFY, give_app, make_staff, sign_in
from tickets.models import Status, Submission

pytestmark = pytest.mark.django_db
OPEN = {"admin/login/", "admin/logout/"}


def console_routes() -> list[str]:
    """Every route of the console (Django's admin and the home page), as written in the URLconf,
    but the sign-in, the sign-out and the second factor's own."""
    routes = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("admin/"):
                routes.append(route)

    walk(get_resolver().url_patterns, "")
    return sorted({r for r in routes if r not in OPEN and not r.startswith("admin/second-factor/")})


def concrete(route: str, submission: Submission, user) -> str:
    """A real address for ``route``: its object is the submission (or the staff account)."""
    object_id = user.pk if "/auth/user/" in route else submission.pk
    content_type = ContentType.objects.get_for_model(Submission).pk
    path = route.replace("<path:content_type_id>", str(content_type))
    path = re.sub(r"\^\(\?P<app_label>[^)]*\)/\$", "tickets/", path)
    path = path.replace("(?P<url>.*)$", "no-such-page/")
    path = re.sub(r"<(?:\w+:)?(?:object_id|id|pk)>", str(object_id), path)
    path = re.sub(r"<(?:\w+:)?\w+>", "1", path)
    assert "<" not in path and "(" not in path, route
    return "/" + path


ROUTES = console_routes()


def test_the_list_of_console_routes_is_complete_enough_to_mean_something():
    for route in ("admin/", "admin/tickets/submission/", "admin/tickets/submission/export.csv"):
        assert route in ROUTES
    assert "admin/tickets/submission/<path:object_id>/correct/" in ROUTES
    assert len(ROUTES) > 30


@pytest.mark.parametrize("route", ROUTES)
def test_the_right_password_alone_opens_no_console_page(client, settings, django_user_model, route):
    settings.STAFF_SECOND_FACTOR_REQUIRED = True
    staff = make_staff(django_user_model)
    submission = make(status=Status.FAILED, name="Siti Customer")
    assert sign_in(client).status_code == 302
    path = concrete(route, submission, staff)

    response = client.get(path)

    assert response.status_code == 302, path
    assert response["Location"].startswith(SETUP + "?next=")
    assert "Siti Customer" not in response.content.decode()


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/tickets/submission/", "/admin/tickets/submission/export.csv"]
)
def test_with_a_device_the_password_leads_to_the_code_page(
    client, settings, django_user_model, path
):
    settings.STAFF_SECOND_FACTOR_REQUIRED = True
    give_app(make_staff(django_user_model))
    sign_in(client)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"{VERIFY}?next={path}"


def test_an_action_posted_before_the_second_factor_does_nothing(
    client, settings, django_user_model
):
    settings.STAFF_SECOND_FACTOR_REQUIRED = True
    make_staff(django_user_model)
    failed = make(status=Status.FAILED)
    sign_in(client)

    response = run_action(client, "resend_now", failed)

    assert response["Location"].startswith(SETUP)
    failed.refresh_from_db()
    assert failed.status == Status.FAILED


def test_after_the_password_the_sign_in_page_sends_on_to_the_second_factor(
    client, settings, django_user_model
):
    settings.STAFF_SECOND_FACTOR_REQUIRED = True
    make_staff(django_user_model)

    response = sign_in(client, next_page="/admin/tickets/submission/")

    assert response["Location"] == "/admin/tickets/submission/"
    assert client.get(response["Location"])["Location"].startswith(SETUP)


def test_signing_out_needs_no_second_factor(client, settings, django_user_model):
    settings.STAFF_SECOND_FACTOR_REQUIRED = True
    make_staff(django_user_model)
    sign_in(client)

    client.post("/admin/logout/")

    assert client.get(SETUP)["Location"].startswith("/admin/login/")


def test_with_the_setting_off_the_password_alone_opens_the_console(
    client, settings, django_user_model
):
    settings.STAFF_SECOND_FACTOR_REQUIRED = False
    give_app(make_staff(django_user_model))
    make(name="Siti Customer")
    sign_in(client)

    response = client.get("/admin/tickets/submission/")

    assert response.status_code == 200
    assert "Siti Customer" in response.content.decode()
    assert TOTPDevice.objects.count() == 1


def test_a_customer_page_is_not_the_consoles_to_guard(client, settings, django_user_model):
    settings.STAFF_SECOND_FACTOR_REQUIRED = True
    make_staff(django_user_model)
    sign_in(client)

    assert client.get("/").status_code == 200


@pytest.mark.system
@pytest.mark.parametrize(
    ("environment", "required"),
    [
        ({}, "True"),
        ({"DEBUG": "1", "SECRET_KEY": "", "ALLOWED_HOSTS": ""}, "False"),
        ({"STAFF_SECOND_FACTOR_REQUIRED": "0"}, "False"),
    ],
    ids=["production", "debug", "turned off"],
)
def test_the_second_factor_is_required_in_production_unless_turned_off(environment, required):
    code = "from django.conf import settings; print(settings.STAFF_SECOND_FACTOR_REQUIRED)"

    result = run_manage("shell", "-c", code, **{**PRODUCTION_ENVIRONMENT, **environment})

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == required

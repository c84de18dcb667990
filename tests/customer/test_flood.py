"""A flood of scripted forms from many addresses, behind the operator's proxy, with the portal's
defaults: a few reach the provider, every one is stored (held for staff, not lost), and staff get
one alert for the lot."""

import time

import pytest
from django.test import Client

from tests.support.factories import storehub_post
from tickets.customer import volume
from tickets.models import HoldReason, Status, Submission

pytestmark = pytest.mark.django_db(transaction=True)

FORMS = 300


def test_300_scripted_forms_from_300_addresses_make_at_most_60_tickets(
    sandbox, run_worker, smtp_server, settings
):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.STAFF_ALERT_EMAILS = ["lead@example.my"]
    volume._busiest.clear()
    started = time.monotonic()

    answers = [
        # A script: no browser, no cookie, no JavaScript, a new address each time.
        Client().post(
            "/storehub/",
            storehub_post(name=f"Fake Shop {n}"),
            HTTP_X_FORWARDED_FOR=f"198.51.{n // 250}.{n % 250 + 1}",
        )
        for n in range(FORMS)
    ]
    run_worker(max_tasks=500)
    elapsed = time.monotonic() - started

    assert elapsed < 60
    assert [answer.status_code for answer in answers] == [302] * FORMS
    assert Submission.objects.count() == FORMS
    created = len(sandbox.created("storehub"))
    # The default threshold: the floor (30), this hour's flood not counted as a busy hour.
    assert created <= 31
    held = Submission.objects.filter(status=Status.CHECKING, held_for=HoldReason.VOLUME)
    assert held.count() == FORMS - created
    assert Submission.objects.filter(status=Status.SENT).count() == created
    to_staff = [m for m in smtp_server.messages if m.to == ["lead@example.my"]]
    assert len(to_staff) == 1
    assert "held for a check" in to_staff[0].text

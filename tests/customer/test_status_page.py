"""The status page in the customer's words: times in their time zone with the zone named, a wait
that says until when when the portal knows, and no "only way" warning that is not true."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from tests.support.factories import stored_submission
from tickets.models import ErrorClass, Status, Submission

pytestmark = pytest.mark.django_db

# 07:30 UTC: 14:30 in Jakarta (WIB, UTC+7), 15:30 in Kuala Lumpur (MYT, UTC+8).
AT = datetime(2026, 12, 7, 7, 30, tzinfo=ZoneInfo("UTC"))
ONLY_WAY = "it is the only way to see this request"


def page(client, submission: Submission, language: str = "en") -> str:
    url = reverse("tickets:status", args=[submission.public_id])
    return client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()


@pytest.mark.parametrize(
    ("provider", "language", "shown"),
    [
        ("onecloud", "id", "7 Desember 2026, 14:30 WIB"),
        ("onecloud", "en", "7 December 2026, 14:30 WIB"),
        ("storehub", "ms", "7 Disember 2026, 15:30 MYT"),
    ],
)
def test_the_time_sent_is_in_the_customers_time_zone_named(client, provider, language, shown):
    submission = stored_submission(provider)
    Submission.objects.filter(pk=submission.pk).update(created_at=AT)

    assert f'<dd id="sent-on">{shown}</dd>' in page(client, submission, language)


def test_a_rate_limit_says_until_when_in_the_customers_time(client):
    submission = stored_submission(
        "onecloud",
        status=Status.RETRYING,
        last_error_class=ErrorClass.RATE_LIMITED,
        next_attempt_at=AT + timedelta(hours=11, minutes=30),  # the quota window at 02:00 WIB
    )

    html = page(client, submission)

    assert "We will try again at 8 December 2026, 02:00 WIB." in html
    json = client.get(reverse("tickets:status-json", args=[submission.public_id])).json()
    assert "8 December 2026, 02:00 WIB" in json["explanation"]


def test_a_transient_failure_promises_no_time(client):
    submission = stored_submission(
        "onecloud",
        status=Status.RETRYING,
        last_error_class=ErrorClass.TRANSIENT,
        next_attempt_at=AT,
    )

    assert "did not answer yet" in page(client, submission)


def test_opened_with_a_find_code_the_page_does_not_warn_it_is_the_only_way(client):
    submission = stored_submission("storehub", phone="60123456789")
    without_phone = stored_submission("onecloud", phone="")

    # Found again by reference and phone: the way back is known.
    session = client.session
    session["found_request"] = str(submission.public_id)
    session.save()
    assert ONLY_WAY not in page(client, submission)
    assert "find it again" not in page(client, submission)

    # Opened from its link, with a phone to find it by: the page says so instead.
    other = stored_submission("storehub", phone="60123456780")
    html = page(client, other)
    assert ONLY_WAY not in html and "find it again" in html
    # Without a phone number, the link is indeed the only way.
    assert ONLY_WAY in page(client, without_phone)

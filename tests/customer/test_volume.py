"""Unusual volume and the daily budget: the form asks browsers for a proof of work, requests
without one are stored and held for staff (never refused), a solved one flows, a solution counts
once, and nothing changes while volume is normal."""

import html
import itertools
import json
import re
from datetime import timedelta

import altcha
import pytest
from django.core import mail
from django.utils import timezone

from tests.support.factories import stored_submission, storehub_post
from tickets.customer import volume
from tickets.customer.proof_of_work import challenge_new
from tickets.delivery.email import staff_alerts_send
from tickets.models import HoldReason, OutgoingEmail, StaffAlert, Status, Submission

pytestmark = pytest.mark.django_db

FORM = "/storehub/"


@pytest.fixture(autouse=True)
def _busiest_hour_read_afresh():
    volume._busiest.clear()
    yield
    volume._busiest.clear()


def challenge_on(page: str) -> dict | None:
    found = re.search(r'id="proof-of-work"[^>]*data-challenge="([^"]+)"', page)
    return json.loads(html.unescape(found.group(1))) if found else None


def solved(challenge: dict) -> str:
    """What the page's script puts in the form once it has done the work."""
    parsed = altcha.Challenge.from_dict(challenge)
    return altcha.Payload(parsed, altcha.solve_challenge(parsed)).to_base64()


SENT = itertools.count()


def send(client, **fields) -> Submission:
    # Each a different request: the same content again from one browser is a repeat.
    answer = client.post(FORM, storehub_post(**{"name": f"Customer {next(SENT)}", **fields}))
    assert answer.status_code == 302, answer.content.decode()[:500]
    return Submission.objects.order_by("-pk").first()


def flood(client, settings, *, threshold: int = 2) -> None:
    settings.UNUSUAL_VOLUME_PER_HOUR = threshold
    for _ in range(threshold):
        assert send(client).status == Status.QUEUED


def test_with_normal_volume_the_form_asks_for_nothing_and_requests_flow(client):
    page = client.get(FORM).content.decode()

    assert challenge_on(page) is None
    assert "proof_of_work.js" not in page
    assert send(client).status == Status.QUEUED


def test_past_the_threshold_the_form_asks_for_a_proof_of_work(client, settings):
    flood(client, settings)

    page = client.get(FORM).content.decode()

    challenge = challenge_on(page)
    assert challenge["parameters"]["algorithm"] == "PBKDF2/SHA-256"
    assert "proof_of_work.js" in page
    # A fresh challenge for each page, though the page is rendered once.
    assert challenge_on(client.get(FORM).content.decode()) != challenge


def test_a_request_without_a_proof_is_stored_and_held_for_staff_not_refused(client, settings):
    flood(client, settings)

    held = send(client)

    assert held.status == Status.CHECKING and held.held_for == HoldReason.VOLUME
    assert held.next_attempt_at is None
    status_page = client.get(f"/status/{held.public_id}/").content.decode()
    assert "Held for a check" in status_page
    assert "our staff check this one before it is passed to the support team" in status_page


@pytest.mark.parametrize(
    ("language", "headline"),
    [("ms", "Ditahan untuk semakan"), ("id", "Ditahan untuk pemeriksaan")],
)
def test_the_held_status_speaks_the_customers_language(client, settings, language, headline):
    flood(client, settings)
    held = send(client)

    page = client.get(f"/status/{held.public_id}/", HTTP_ACCEPT_LANGUAGE=language)

    assert headline in page.content.decode()


def test_a_solved_challenge_flows_and_counts_once(client, settings):
    flood(client, settings)
    proof = solved(challenge_on(client.get(FORM).content.decode()))

    first = send(client, altcha=proof)
    replayed = send(client, altcha=proof)

    assert first.status == Status.QUEUED and first.held_for == ""
    assert replayed.status == Status.CHECKING


def test_a_proof_signed_with_another_key_or_expired_is_held(client, settings):
    flood(client, settings)
    settings.PROOF_OF_WORK_KEY = "another key"
    forged = solved(challenge_new())
    settings.PROOF_OF_WORK_KEY = ""
    expired = altcha.create_challenge(
        algorithm="PBKDF2/SHA-256",
        cost=10,
        counter=5,
        expires_at=timezone.now() - timedelta(seconds=1),
        hmac_secret="whatever",
    )

    assert send(client, altcha=forged).status == Status.CHECKING
    assert send(client, altcha=solved(expired.to_dict())).status == Status.CHECKING
    assert send(client, altcha="not base64 at all").status == Status.CHECKING


def test_the_same_form_sent_twice_is_still_one_request(client, settings):
    flood(client, settings)
    post = storehub_post(altcha=solved(challenge_on(client.get(FORM).content.decode())))

    before = Submission.objects.count()

    first = client.post(FORM, post)
    again = client.post(FORM, post)

    assert Submission.objects.count() == before + 1
    assert first["Location"] == again["Location"]
    assert Submission.objects.order_by("-pk").first().status == Status.QUEUED


def test_the_default_threshold_is_twice_the_busiest_hour_never_under_the_floor(settings):
    settings.UNUSUAL_VOLUME_FLOOR = 5
    assert volume.volume_threshold(provider="storehub") == 5
    a_busy_hour = timezone.now() - timedelta(days=3)
    for _ in range(4):
        stored_submission(status=Status.SENT)
    Submission.objects.update(created_at=a_busy_hour)
    # An hour with a flood in it (something held) is not what is normal.
    a_flood = timezone.now() - timedelta(days=2)
    for _ in range(9):
        stored_submission(status=Status.SENT, held_for=HoldReason.VOLUME)
    Submission.objects.filter(created_at__gt=a_busy_hour).update(created_at=a_flood)
    volume._busiest.clear()

    # Nor is the last hour, the one being judged.
    for _ in range(7):
        stored_submission(status=Status.SENT)
    volume._busiest.clear()

    assert volume.volume_threshold(provider="storehub") == 8
    assert volume.volume_threshold(provider="onecloud") == 5


def test_the_database_counts_while_the_cache_is_down(client, settings, monkeypatch):
    settings.UNUSUAL_VOLUME_PER_HOUR = 2
    for _ in range(2):
        stored_submission()

    def unreachable(*args, **kwargs):
        raise ConnectionRefusedError("the cache is down")

    for method in ("get_many", "incr", "add", "get"):
        monkeypatch.setattr(volume.cache, method, unreachable)

    assert challenge_on(client.get(FORM).content.decode()) is not None
    assert send(client).status == Status.CHECKING


def test_past_the_daily_budget_requests_are_held_even_with_a_proof(client, settings):
    settings.PROVIDER_DAILY_BUDGET = 2
    for _ in range(2):
        assert send(client).status == Status.QUEUED

    held = send(client)

    assert held.status == Status.CHECKING and held.held_for == HoldReason.BUDGET
    # Another provider has its own budget.
    assert client.post("/onecloud/", {}).status_code == 200


def test_with_no_budget_set_nothing_is_held_for_it(client, settings):
    settings.UNUSUAL_VOLUME_PER_HOUR = 1000
    assert settings.PROVIDER_DAILY_BUDGET == 0
    for _ in range(5):
        assert send(client).status == Status.QUEUED


def test_staff_get_one_alert_for_a_flood_and_no_customer_is_written_to(client, settings):
    settings.STAFF_ALERT_EMAILS = ["lead@example.my"]
    flood(client, settings)
    held = [send(client) for _ in range(5)]
    assert all(submission.status == Status.CHECKING for submission in held)

    staff_alerts_send()

    assert StaffAlert.objects.filter(reason=StaffAlert.Reason.CHECKING).count() == 1
    alert = OutgoingEmail.objects.get(kind=OutgoingEmail.Kind.STAFF_ALERT)
    assert alert.alerts.get().submission == held[0]
    held_emails = OutgoingEmail.objects.filter(submission__status=Status.CHECKING)
    assert not held_emails.exists()
    assert mail.outbox == []

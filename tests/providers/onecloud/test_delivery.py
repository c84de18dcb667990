"""OneCloud's token and quota rules through whole forwards, with the real worker against its
sandbox: a refused token is dropped and a new one fetched, a quota message keeps the token and
waits for the window it names, in OneCloud's time zone."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests.support.factories import onecloud_data, set_provider_options, time_zone_at_noon
from tests.support.submissions import refreshed
from tickets.customer.intake import submission_create
from tickets.delivery.forward import submission_forward
from tickets.models import ErrorClass, ProviderCall, Status, Submission

pytestmark = pytest.mark.django_db(transaction=True)


def create(provider: str) -> Submission:
    return submission_create(provider=provider, data=onecloud_data())


def test_a_onecloud_token_refused_with_a_401_is_dropped_and_a_new_one_fetched(
    sandbox, run_worker, settings
):
    settings.OUTBOX_CONFIG_RETRY_SECONDS = 0
    sandbox.script("onecloud", "401")
    submission = submission_create(provider="onecloud", data=onecloud_data())

    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.SENT
    # The first forward's token was refused; the next forward fetched another.
    assert sandbox.endpoints("onecloud").tokens_issued == 2
    assert submission.calls.filter(kind=ProviderCall.Kind.TOKEN).count() == 2


def test_an_over_quota_401_keeps_the_token(sandbox, run_worker, settings):
    set_provider_options(settings, "onecloud", time_zone=time_zone_at_noon())
    sandbox.script("onecloud", "quota")
    first = submission_create(provider="onecloud", data=onecloud_data())
    run_worker()
    assert refreshed(first).status == Status.RETRYING

    second = submission_create(provider="onecloud", data=onecloud_data())
    run_worker()

    assert refreshed(second).status == Status.SENT
    assert sandbox.endpoints("onecloud").tokens_issued == 1


def test_over_quota_waits_for_the_window_onecloud_names_in_its_time_zone(
    sandbox, run_worker, settings
):
    # Asia/Jakarta by default; here a zone where it is noon now, so the test never runs inside
    # the minutes after the window opens (then the portal backs off instead: tested elsewhere).
    zone = time_zone_at_noon()
    set_provider_options(settings, "onecloud", time_zone=zone)
    sandbox.script("onecloud", "quota")
    submission = create("onecloud")

    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.RETRYING
    assert submission.last_error_class == ErrorClass.RATE_LIMITED
    opens = submission.next_attempt_at.astimezone(ZoneInfo(zone))
    # "try again tomorrow at 18:00 - 06:00": the next 18:00 there, give or take two minutes.
    assert (opens.hour, opens.minute) in ((18, 0), (18, 1))
    assert (
        timedelta(0) < submission.next_attempt_at - timezone.now() <= timedelta(hours=24, minutes=2)
    )

    Submission.objects.filter(pk=submission.pk).update(next_attempt_at=timezone.now())
    submission_forward(submission_id=submission.pk)
    assert refreshed(submission).status == Status.SENT

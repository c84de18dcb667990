"""Requests held for a check (unusual volume, the daily budget): staff release them (sent as any
other request) or discard them (closed, nobody written to), in bulk, with the reason kept."""

import pytest

from tests.support.console import change_url, changelist, make, refreshed, run_action
from tests.support.factories import storehub_data
from tickets.customer.intake import submission_create
from tickets.models import HoldReason, OutgoingEmail, Status


def held(settings, count: int):
    settings.PROVIDER_DAILY_BUDGET = 1
    submission_create(provider="storehub", data=storehub_data(name="First Of The Day"))
    return [
        submission_create(provider="storehub", data=storehub_data(name=f"Customer {n}"))
        for n in range(count)
    ]


@pytest.mark.django_db(transaction=True)
def test_released_requests_are_sent_and_their_customers_told(
    admin_client, sandbox, settings, run_worker
):
    first, second = held(settings, 2)
    assert {first.status, second.status, first.held_for} == {Status.CHECKING, HoldReason.BUDGET}

    done = run_action(
        admin_client, "release_held", first, second, confirm_checked="yes", reason="Real shops"
    )
    run_worker()

    assert done.status_code == 302
    assert {refreshed(first).status, refreshed(second).status} == {Status.SENT}
    assert len(sandbox.created("storehub")) == 3
    receipts = OutgoingEmail.objects.filter(
        submission__in=[first, second], kind=OutgoingEmail.Kind.RECEIPT
    )
    assert receipts.count() == 2
    timeline = admin_client.get(change_url(first)).content.decode()
    timeline = timeline[timeline.index('class="timeline') :]
    assert "Real shops" in timeline and "Held for a check" in timeline


@pytest.mark.django_db
def test_discarded_requests_are_closed_and_nobody_is_written_to(admin_client, settings):
    first, second = held(settings, 2)
    sent = make(status=Status.SENT)

    asked = run_action(admin_client, "discard_held", first, second, sent)
    page = asked.content.decode()
    assert asked.status_code == 200
    assert first.reference in page and sent.reference not in page
    assert "1 other selected request is not held for a check" in page
    assert refreshed(first).status == Status.CHECKING

    done = run_action(
        admin_client,
        "discard_held",
        first,
        second,
        sent,
        confirm_checked="yes",
        reason="A script: the same shop 300 times",
    )

    assert done.status_code == 302
    assert {refreshed(first).status, refreshed(second).status} == {Status.CANCELLED}
    assert refreshed(sent).status == Status.SENT
    assert not OutgoingEmail.objects.filter(submission__in=[first, second]).exists()
    timeline = admin_client.get(change_url(second)).content.decode()
    timeline = timeline[timeline.index('class="timeline') :]
    assert "A script: the same shop 300 times" in timeline


@pytest.mark.django_db
def test_a_reason_is_needed(admin_client, settings):
    (one,) = held(settings, 1)

    no_reason = run_action(admin_client, "release_held", one, confirm_checked="yes", reason=" ")

    assert "This field is required." in no_reason.content.decode()
    assert refreshed(one).status == Status.CHECKING


@pytest.mark.django_db
def test_staff_find_them_by_status_and_the_detail_page_offers_only_these_actions(
    admin_client, settings
):
    (one,) = held(settings, 1)

    listed = changelist(admin_client, status=Status.CHECKING).content.decode()
    banner = changelist(admin_client).content.decode()
    detail = admin_client.get(change_url(one)).content.decode()

    assert one.reference in listed
    assert "1 held for a check" in banner and "?status__exact=checking" in banner
    assert "Past the provider&#x27;s daily budget" in detail
    assert "Release held requests (send them)…" in detail
    assert "Discard held requests…" in detail
    assert "Reopen and send now" not in detail

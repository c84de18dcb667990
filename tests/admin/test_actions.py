"""The staff console's actions: resend, cancel (with a reason) and reopen, and mark a possible
duplicate as checked."""

import re

import pytest

from tests.support.console import (
    change_url,
    changelist,
    listed_references,
    make,
    refreshed,
    run_action,
)
from tests.support.factories import storehub_data
from tickets.admin.staff import submission_mark_duplicate_checked
from tickets.customer.intake import submission_create
from tickets.models import Correction, Status


@pytest.mark.django_db(transaction=True)
def test_resend_moves_a_failed_submission_to_sent(admin_client, sandbox, settings, run_worker):
    settings.FORWARD_RETRY_PERIOD_SECONDS = 0
    sandbox.script("storehub", "500")
    submission = submission_create(provider="storehub", data=storehub_data())
    run_worker()
    assert refreshed(submission).status == Status.FAILED

    response = run_action(admin_client, "resend_now", submission)
    assert response.status_code == 302
    assert refreshed(submission).status == Status.QUEUED
    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.SENT
    assert submission.ticket_id
    assert len(sandbox.created("storehub")) == 1


@pytest.mark.django_db
def test_resend_skips_a_sent_submission_and_says_so(admin_client):
    sent = make(status=Status.SENT)

    response = run_action(admin_client, "resend_now", sent)

    assert refreshed(sent).status == Status.SENT
    shown = [str(m) for m in response.wsgi_request._messages]
    assert "0 submissions queued to send now." in shown
    assert any("1 skipped" in message for message in shown)


@pytest.mark.django_db
def test_cancel_asks_for_a_reason_first_and_changes_nothing_until_given(admin_client):
    retrying = make(status=Status.RETRYING)
    sent = make(status=Status.SENT)

    asked = run_action(admin_client, "cancel", retrying, sent)

    page = asked.content.decode()
    assert asked.status_code == 200
    assert retrying.reference in page and sent.reference not in page
    assert "1 other selected request is sent or cancelled already" in page
    assert "You can reopen it later" in page
    assert refreshed(retrying).status == Status.RETRYING

    no_reason = run_action(admin_client, "cancel", retrying, sent, confirm_cancel="yes", reason=" ")

    assert no_reason.status_code == 200
    assert "This field is required." in no_reason.content.decode()
    assert refreshed(retrying).status == Status.RETRYING


@pytest.mark.django_db
def test_cancel_with_a_reason_stops_it_and_shows_the_reason_in_its_history(admin_client):
    retrying = make(status=Status.RETRYING)
    sent = make(status=Status.SENT)

    done = run_action(
        admin_client, "cancel", retrying, sent, confirm_cancel="yes", reason="Customer phoned"
    )

    assert done.status_code == 302
    assert refreshed(retrying).status == Status.CANCELLED
    assert refreshed(sent).status == Status.SENT
    page = admin_client.get(change_url(retrying)).content.decode()
    [staff_action] = page.split('class="event event-staff"')[1:]
    assert "Customer phoned" in staff_action
    assert "Waiting to retry" in staff_action and "Cancelled" in staff_action


@pytest.mark.django_db
def test_cancel_from_the_detail_page_confirms_on_the_way(admin_client):
    failed = make(status=Status.FAILED)
    action = {"CHANGE_FORM-action": "cancel", "_selected_action": [failed.pk], "index": 0}

    asked = admin_client.post(change_url(failed), action)
    # The confirmation posts the detail page's own fields back, with the reason.
    carried = re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', asked.content.decode())
    assert ("CHANGE_FORM-action", "cancel") in carried
    done = admin_client.post(
        change_url(failed), {**action, "confirm_cancel": "yes", "reason": "Wrong shop"}
    )

    assert done.status_code == 302
    assert refreshed(failed).status == Status.CANCELLED


@pytest.mark.django_db
def test_reopen_queues_a_cancelled_request_and_skips_the_rest(admin_client):
    cancelled = make(status=Status.CANCELLED)
    sent = make(status=Status.SENT)

    response = run_action(admin_client, "reopen", cancelled, sent)

    assert refreshed(cancelled).status == Status.QUEUED
    assert refreshed(sent).status == Status.SENT
    shown = [str(m) for m in response.wsgi_request._messages]
    assert "1 submission reopened and queued to send now." in shown
    assert any("1 skipped: not cancelled" in message for message in shown)


@pytest.mark.django_db
def test_resend_from_the_detail_page(admin_client):
    failed = make(status=Status.FAILED)

    admin_client.post(
        change_url(failed),
        {"CHANGE_FORM-action": "resend_now", "_selected_action": [failed.pk], "index": 0},
    )

    assert refreshed(failed).status == Status.QUEUED


@pytest.mark.django_db
def test_a_checked_duplicate_leaves_the_attention_list_with_a_record(admin_client, admin_user):
    duplicate = make(status=Status.SENT, possible_duplicate=True)

    run_action(admin_client, "mark_duplicate_checked", duplicate)

    assert not refreshed(duplicate).possible_duplicate
    correction = Correction.objects.get(submission=duplicate)
    assert correction.changes == {"possible_duplicate": [True, False]}
    assert correction.changed_by == admin_user
    assert listed_references(changelist(admin_client, attention="yes")) == set()


@pytest.mark.django_db
def test_a_duplicate_check_is_done_once(admin_user):
    submission = make(status=Status.SENT, possible_duplicate=True)

    assert submission_mark_duplicate_checked(submission=submission, user=admin_user)
    assert not submission_mark_duplicate_checked(submission=submission, user=admin_user)
    assert Correction.objects.count() == 1

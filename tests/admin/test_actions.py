"""The staff console's actions: resend, cancel and mark a possible duplicate as checked."""

import pytest

from tests.admin.helpers import (
    change_url,
    changelist,
    listed_references,
    make,
    refreshed,
    run_action,
)
from tests.factories import storehub_data
from tickets.models import Correction, Status
from tickets.services.intake import submission_create
from tickets.services.staff import submission_mark_duplicate_checked


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
def test_cancel_stops_a_submission_that_is_not_sent(admin_client):
    retrying = make(status=Status.RETRYING)
    sent = make(status=Status.SENT)

    run_action(admin_client, "cancel", retrying, sent)

    assert refreshed(retrying).status == Status.CANCELLED
    assert refreshed(sent).status == Status.SENT


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

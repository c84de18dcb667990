"""What staff do to a request that did not arrive (``tickets.admin.staff``): send it again,
or stop it and reopen it; a sent one stays sent."""

import threading
from contextlib import contextmanager

import pytest
from django.core.exceptions import ValidationError

from tests.support.factories import set_provider_options
from tests.support.submissions import create, refreshed
from tests.support.workers import wait_for
from tickets.admin.staff import submission_cancel, submission_reopen, submission_resend
from tickets.delivery.forward import submission_forward
from tickets.models import Status

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_can_resend_a_failed_submission(sandbox, settings, run_worker):
    settings.FORWARD_RETRY_PERIOD_SECONDS = 0
    sandbox.script("storehub", "500")
    submission = create("storehub")
    run_worker()
    assert refreshed(submission).status == Status.FAILED

    assert submission_resend(submission=submission)
    run_worker()

    assert refreshed(submission).status == Status.SENT
    assert len(sandbox.created("storehub")) == 1


def test_staff_can_cancel_but_not_a_sent_one(sandbox, run_worker):
    sent = create("storehub")
    run_worker()
    queued = create("storehub")

    assert not submission_cancel(submission=refreshed(sent), user=None, reason="Asked twice")
    assert submission_cancel(submission=queued, user=None, reason="Asked twice")
    run_worker()

    assert refreshed(queued).status == Status.CANCELLED
    assert refreshed(sent).status == Status.SENT
    assert len(sandbox.requests("storehub")) == 1


@contextmanager
def forward_on_the_wire(sandbox, settings):
    """A request whose forward waits for a provider that makes the ticket 2 s later: the call
    is out inside the block, and has answered once it is left."""
    set_provider_options(settings, "storehub", read_timeout=10)
    sandbox.script("storehub", "success;delay=2")
    submission = create("storehub")
    worker = threading.Thread(target=submission_forward, kwargs={"submission_id": submission.pk})
    worker.start()
    wait_for(lambda: refreshed(submission).status == Status.SENDING, 10, what="on the wire")
    try:
        yield submission
    finally:
        worker.join(timeout=30)


def test_staff_can_cancel_a_request_on_the_wire_and_its_late_ticket_is_flagged(sandbox, settings):
    """A request stuck "sending" (a provider that never finishes) can be stopped; should the
    call create a ticket after all, it is recorded beside the cancelled request, for staff."""
    with forward_on_the_wire(sandbox, settings) as submission:
        assert submission_cancel(submission=submission, user=None, reason="Customer withdrew")

    cancelled = refreshed(submission)
    assert cancelled.status == Status.CANCELLED
    assert [extra["ticket_id"] for extra in cancelled.extra_tickets] == ["1000"]
    assert cancelled.possible_duplicate
    assert cancelled.emails.filter(kind="cancelled").exists()


def test_a_cancel_needs_a_reason_and_keeps_it_in_the_history(sandbox, admin_user):
    submission = create("storehub")

    with pytest.raises(ValidationError):
        submission_cancel(submission=submission, user=admin_user, reason="   ")
    assert refreshed(submission).status == Status.QUEUED

    assert submission_cancel(submission=submission, user=admin_user, reason="Asked twice")
    (entry,) = refreshed(submission).corrections.all()
    assert entry.changed_by == admin_user
    assert entry.note == "Asked twice"
    assert entry.changes == {"status": ["queued", "cancelled"]}


def test_a_reopened_request_is_sent_as_if_new(sandbox, settings, run_worker, admin_user):
    settings.FORWARD_RETRY_PERIOD_SECONDS = 0
    sandbox.script("storehub", "500")
    submission = create("storehub")
    run_worker()
    assert refreshed(submission).status == Status.FAILED
    submission_cancel(submission=refreshed(submission), user=admin_user, reason="By mistake")

    assert submission_reopen(submission=refreshed(submission), user=admin_user)
    assert refreshed(submission).status == Status.QUEUED
    run_worker()

    reopened = refreshed(submission)
    assert reopened.status == Status.SENT
    assert reopened.ticket_id
    history = [entry.changes["status"] for entry in reopened.corrections.all()]
    assert history == [["failed", "cancelled"], ["cancelled", "queued"]]
    # The customer was told of the cancel, then that it goes ahead, and the number now.
    assert list(reopened.emails.values_list("kind", flat=True)) == [
        "receipt",
        "cancelled",
        "reopened",
        "ticket_number",
    ]
    assert not submission_reopen(submission=reopened, user=admin_user)


def test_a_request_the_provider_made_a_ticket_for_after_the_cancel_is_not_reopened(
    sandbox, settings
):
    with forward_on_the_wire(sandbox, settings) as submission:
        submission_cancel(submission=submission, user=None, reason="Customer withdrew")
    assert refreshed(submission).extra_tickets
    settings.FORWARD_LEASE_SECONDS = 0  # its call has answered: no longer "may still answer"

    # Reopening would make a second ticket at the provider.
    assert not submission_reopen(submission=refreshed(submission), user=None)
    assert refreshed(submission).status == Status.CANCELLED


def test_a_request_cancelled_on_the_wire_is_not_reopened_while_its_call_may_answer(
    sandbox, settings
):
    with forward_on_the_wire(sandbox, settings) as submission:
        submission_cancel(submission=submission, user=None, reason="Customer withdrew")
        # The call is still out: it may yet bring a ticket.
        refused_at_once = submission_reopen(submission=refreshed(submission), user=None)

    assert not refused_at_once
    assert refreshed(submission).status == Status.CANCELLED

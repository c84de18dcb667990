"""What staff do to a request that did not arrive (``tickets.services.staff``): send it again,
or stop it; a sent one stays sent."""

import threading

import pytest

from tests.factories import set_provider_options
from tests.services.helpers import create, refreshed
from tests.workers import wait_for
from tickets.models import Status
from tickets.services.forward import submission_forward
from tickets.services.staff import submission_cancel, submission_resend

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

    assert not submission_cancel(submission=refreshed(sent))
    assert submission_cancel(submission=queued)
    run_worker()

    assert refreshed(queued).status == Status.CANCELLED
    assert refreshed(sent).status == Status.SENT
    assert len(sandbox.requests("storehub")) == 1


def test_staff_can_cancel_a_request_on_the_wire_and_its_late_ticket_is_flagged(sandbox, settings):
    """A request stuck "sending" (a provider that never finishes) can be stopped; should the
    call create a ticket after all, it is recorded beside the cancelled request, for staff."""
    set_provider_options(settings, "storehub", read_timeout=10)
    sandbox.script("storehub", "success;delay=2")
    submission = create("storehub")
    worker = threading.Thread(target=submission_forward, kwargs={"submission_id": submission.pk})
    worker.start()
    wait_for(lambda: refreshed(submission).status == Status.SENDING, 10, what="on the wire")

    assert submission_cancel(submission=submission)
    worker.join(timeout=30)

    cancelled = refreshed(submission)
    assert cancelled.status == Status.CANCELLED
    assert [extra["ticket_id"] for extra in cancelled.extra_tickets] == ["1000"]
    assert cancelled.possible_duplicate
    assert cancelled.emails.filter(kind="cancelled").exists()

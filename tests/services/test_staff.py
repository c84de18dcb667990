"""What staff do to a request that did not arrive (``tickets.services.staff``): send it again,
or stop it; a sent one stays sent."""

import pytest

from tests.services.helpers import create, refreshed
from tickets.models import Status
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

"""A customer's request enters through ``submission_create``: checked, then stored with a
reference and its forward queued in one transaction, before anything is sent. The same form
sent again with the same content is the same request."""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django_tasks_db.models import DBTaskResult

from tests.support.factories import onecloud_data, png_upload, storehub_data
from tests.support.submissions import create, refreshed
from tickets.customer.intake import submission_create
from tickets.delivery.forward import submission_forward_task
from tickets.models import Status, Submission

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_submission_is_stored_with_a_reference_before_anything_is_sent(sandbox):
    submission = create("storehub")

    assert Submission.objects.get(pk=submission.pk).status == Status.QUEUED
    assert submission.reference.startswith("REQ-")
    assert len(submission.reference) == 10
    assert sandbox.requests("storehub") == []
    assert DBTaskResult.objects.filter(task_path=submission_forward_task.module_path).count() == 1


def test_a_request_and_its_forward_are_written_in_one_transaction(sandbox):
    """The queue is a table of the same database: the forward is written with the request, so
    neither exists without the other, whatever happens around the commit."""
    from django.db import transaction

    forwards = DBTaskResult.objects.filter(task_path=submission_forward_task.module_path)
    with pytest.raises(RuntimeError), transaction.atomic():
        create("storehub")
        # Already written, inside the transaction that stores the request...
        assert forwards.count() == 1
        raise RuntimeError("the transaction fails after the request was stored")
    # ...and gone with it.
    assert not Submission.objects.exists()
    assert not forwards.exists()

    submission = create("storehub")
    assert forwards.get().args_kwargs["args"] == [submission.pk]


def test_attachments_are_stored_with_the_submission_and_forwarded(sandbox, run_worker):
    submission = submission_create(
        provider="onecloud", data=onecloud_data(), files={"attachment": png_upload()}
    )
    [attachment] = submission.attachments.all()
    assert attachment.original_name == "brochure.png"
    assert attachment.file.size == attachment.size

    run_worker()

    assert refreshed(submission).status == Status.SENT
    body = sandbox.created("onecloud")[0]["body"]
    assert body["attachment"]["filename"] == "brochure.png"
    assert body["attachment"]["size"] == attachment.size


@pytest.mark.parametrize(
    ("provider", "data", "message"),
    [
        ("storehub", {"name": "x"}, "Missing required fields"),
        ("nobody", {}, "Unknown or disabled provider"),
        ("onecloud", {**onecloud_data(), "store_name": "Kedai"}, "Fields not used"),
        ("onecloud", {**onecloud_data(), "latitude": None}, "both latitude and longitude"),
        ("onecloud", {**onecloud_data(), "email": "not-an-email"}, "email"),
    ],
)
def test_invalid_data_is_refused_before_anything_is_stored(provider, data, message):
    with pytest.raises(ValidationError, match=message):
        submission_create(provider=provider, data=data)
    assert Submission.objects.count() == 0


def test_one_form_token_with_two_contents_is_two_requests_both_forwarded(sandbox, run_worker):
    token = uuid.uuid4()
    first = submission_create(provider="storehub", data=storehub_data(), form_token=token)
    again = submission_create(provider="storehub", data=storehub_data(), form_token=token)
    edited = submission_create(
        provider="storehub", data=storehub_data(issue="*Printer jam"), form_token=token
    )

    run_worker()

    assert again.pk == first.pk != edited.pk
    assert Submission.objects.count() == 2
    assert set(Submission.objects.values_list("status", flat=True)) == {Status.SENT}
    issues = sorted(request["body"]["Ticket"]["Issue"] for request in sandbox.created("storehub"))
    assert issues == ["*Onsite Support", "*Printer jam"]

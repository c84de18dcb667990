"""Correcting a rejected submission: the form, the service, the record, the resend."""

import pytest
from django.core.exceptions import ValidationError

from tests.support.console import change_url, correct_url, form_data, make, refreshed
from tests.support.factories import storehub_data
from tickets.admin.forms import correction_initial
from tickets.admin.staff import submission_correct
from tickets.customer.intake import submission_create
from tickets.models import Correction, Status


@pytest.mark.django_db(transaction=True)
def test_a_rejected_submission_is_corrected_recorded_and_resent(
    admin_client, admin_user, sandbox, run_worker
):
    sandbox.script("storehub", "-10000")
    submission = submission_create(provider="storehub", data=storehub_data())
    run_worker()
    submission = refreshed(submission)
    assert submission.status == Status.REJECTED

    form_page = admin_client.get(correct_url(submission)).content.decode()
    assert 'name="phone"' in form_page
    assert 'name="subject"' not in form_page  # a OneCloud field
    assert "Invalid parameter" in form_page  # why the provider refused it
    response = admin_client.post(
        correct_url(submission),
        {**form_data(submission, phone="012-999 8888"), "note": "Customer gave a wrong number."},
    )
    assert response.status_code == 302
    assert response["Location"] == change_url(submission)
    run_worker()

    submission = refreshed(submission)
    assert submission.status == Status.SENT
    assert submission.phone == "60129998888"
    correction = Correction.objects.get(submission=submission)
    assert correction.changes == {"phone": ["60123456789", "60129998888"]}
    assert correction.changed_by == admin_user
    assert correction.note == "Customer gave a wrong number."
    assert sandbox.created("storehub")[0]["body"]["Ticket"]["Phone"] == "60129998888"
    assert "Customer gave a wrong number." in admin_client.get(change_url(submission)).text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("provider", "change", "error"),
    [
        ("onecloud", {"email": "not-an-email"}, "Enter a valid email address."),
        ("onecloud", {"latitude": "95"}, "Latitude must be between -90 and 90 degrees."),
        ("storehub", {"phone": "call me"}, "Enter a phone number such as"),
        ("storehub", {"state": "Atlantis"}, "Select a valid choice."),
        ("storehub", {"name": ""}, "This field is required."),
        # The limits are the provider form's own: StoreHub takes an e-mail of 100 at most.
        ("storehub", {"email": "a" * 92 + "@kedai.my"}, "at most 100 characters"),
        ("storehub", {"service_id": "4"}, "Select a valid choice."),
        ("onecloud", {"subject": "s" * 201}, "at most 200 characters"),
    ],
)
def test_the_correction_form_shows_errors_and_changes_nothing(
    admin_client, provider, change, error
):
    rejected = make(provider, status=Status.REJECTED)
    before = correction_initial(rejected)

    response = admin_client.post(
        correct_url(rejected), {**form_data(rejected, **change), "note": "typo"}
    )

    assert response.status_code == 200
    assert error in response.text
    assert correction_initial(refreshed(rejected)) == before
    assert not Correction.objects.exists()


@pytest.mark.django_db
def test_a_sent_submission_cannot_be_corrected(admin_client):
    sent = make(status=Status.SENT)

    detail = admin_client.get(change_url(sent)).content.decode()
    response = admin_client.post(
        correct_url(sent), {**form_data(sent, name="Someone Else"), "note": "no"}
    )

    assert correct_url(sent) not in detail
    assert response.status_code == 302
    assert refreshed(sent).name == "Ahmad Ibrahim"


@pytest.mark.django_db
def test_submission_correct_records_only_what_changed_and_queues_it(admin_user):
    rejected = make(status=Status.REJECTED, forward_count=1)

    corrected = submission_correct(
        submission=rejected,
        changes={"address": "1 Jalan Baru", "state": "Kuala Lumpur", "latitude": "3.1"},
        note="Address was incomplete.",
        user=admin_user,
    )

    assert corrected.status == Status.QUEUED
    assert corrected.forward_count == 0
    correction = corrected.corrections.get()
    assert correction.changes == {
        "address": ["23, Jalan Ampang, Taman KLCC, 55000 KL", "1 Jalan Baru"],
        "latitude": ["3.157300", "3.1"],
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("provider", "status", "changes", "message"),
    [
        ("storehub", Status.SENT, {"name": "X"}, "cannot be corrected"),
        ("storehub", Status.SENDING, {"name": "X"}, "cannot be corrected"),
        ("storehub", Status.CANCELLED, {"name": "X"}, "cannot be corrected"),
        ("storehub", Status.REJECTED, {"subject": "X"}, "not used by StoreHub: subject"),
        ("storehub", Status.REJECTED, {"status": "sent"}, "not used by StoreHub: status"),
        ("storehub", Status.REJECTED, {"name": "Ahmad Ibrahim"}, "Nothing was changed"),
        ("storehub", Status.REJECTED, {"name": ""}, "Missing required fields: name"),
        ("storehub", Status.REJECTED, {"latitude": None}, "Missing required fields: lat"),
        ("onecloud", Status.REJECTED, {"email": "not-an-email"}, "email"),
        ("onecloud", Status.REJECTED, {"latitude": None}, "both latitude and longitude"),
        ("onecloud", Status.REJECTED, {"latitude": "north"}, "must be a decimal number"),
    ],
)
def test_submission_correct_refuses_what_it_must(admin_user, provider, status, changes, message):
    submission = make(provider, status=status)
    name = submission.name

    with pytest.raises(ValidationError, match=message):
        submission_correct(submission=submission, changes=changes, note="", user=admin_user)

    assert refreshed(submission).status == status
    assert refreshed(submission).name == name
    assert not Correction.objects.exists()

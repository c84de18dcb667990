"""Retention and erasure: old records and their files go, and nothing else does."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.factories import onecloud_data, png_upload, storehub_data
from tickets.models import Attachment, Attempt, Status, Submission
from tickets.services import customer_data_erase, submission_create

pytestmark = pytest.mark.django_db(transaction=True)


def aged(submission: Submission, *, days: int, status: str = Status.SENT) -> Submission:
    Submission.objects.filter(pk=submission.pk).update(
        created_at=timezone.now() - timedelta(days=days), status=status
    )
    submission.refresh_from_db()
    return submission


def with_file(**overrides) -> Submission:
    return submission_create(
        provider="onecloud", data=onecloud_data(**overrides), files={"attachment": png_upload()}
    )


def test_the_retention_command_removes_old_records_and_their_files_and_nothing_else(settings):
    settings.RETENTION_DAYS = 30
    old = aged(with_file(), days=31)
    old_file = old.attachments.get().file
    Attempt.objects.create(
        submission=old,
        started_at=timezone.now(),
        duration_ms=1,
        url="",
        request={},
        error_class="success",
    )
    recent = aged(with_file(), days=29)
    recent_file = recent.attachments.get().file
    old_but_still_queued = aged(with_file(), days=40, status=Status.RETRYING)
    storage = old_file.storage
    assert storage.exists(old_file.name)

    call_command("purge_expired_submissions")

    assert not Submission.objects.filter(pk=old.pk).exists()
    assert not Attempt.objects.filter(submission_id=old.pk).exists()
    assert not storage.exists(old_file.name)
    assert Submission.objects.filter(pk=recent.pk).exists()
    assert storage.exists(recent_file.name)
    assert Submission.objects.filter(pk=old_but_still_queued.pk).exists()
    assert Attachment.objects.count() == 2


def test_one_customers_data_is_erased_on_request():
    theirs = [
        with_file(email="Siti@Example.my"),
        submission_create(provider="storehub", data=storehub_data(email="siti@example.my")),
    ]
    files = [theirs[0].attachments.get().file]
    someone_else = with_file(email="other@example.id")

    deleted = customer_data_erase(email="siti@example.my")

    assert deleted == 2
    assert not Submission.objects.filter(pk__in=[s.pk for s in theirs]).exists()
    assert not files[0].storage.exists(files[0].name)
    assert Submission.objects.filter(pk=someone_else.pk).exists()


def test_erasure_by_phone_from_the_command_line(capsys):
    submission_create(provider="storehub", data=storehub_data(phone="60199998888"))

    call_command("erase_customer", phone="60199998888")

    assert Submission.objects.count() == 0
    assert "Deleted 1 submission(s)." in capsys.readouterr().out

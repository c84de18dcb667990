"""Retention and erasure: old records and their files go, and nothing else does."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.support.factories import onecloud_data, png_upload, storehub_data
from tests.support.recipients import confirm
from tickets.customer.intake import submission_create
from tickets.delivery.forward import submission_forward_task
from tickets.models import Attachment, ProviderCall, Recipient, Status, Submission
from tickets.operations.privacy import customer_data_erase
from tickets.operations.upkeep import upkeep_run

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
    ProviderCall.objects.create(
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
    assert not ProviderCall.objects.filter(submission_id=old.pk).exists()
    assert not storage.exists(old_file.name)
    assert Submission.objects.filter(pk=recent.pk).exists()
    assert storage.exists(recent_file.name)
    assert Submission.objects.filter(pk=old_but_still_queued.pk).exists()
    assert Attachment.objects.count() == 2


def test_the_daily_upkeep_runs_by_itself_and_held_requests_expire_too(
    settings, sandbox, run_worker
):
    """No layout ships cron: the sweep keeps one upkeep waiting, a day away, and a worker runs
    it. A request held for staff past the retention period is not being delivered: it goes."""
    from django_tasks_db.models import DBTaskResult

    settings.RETENTION_DAYS = 30
    held = aged(with_file(), days=31, status=Status.HELD)
    held_file = held.attachments.get().file
    in_delivery = aged(with_file(), days=31, status=Status.RETRYING)
    forwards = DBTaskResult.objects.filter(task_path=submission_forward_task.module_path)
    old_task, *others = forwards
    DBTaskResult.objects.filter(pk=old_task.pk).update(
        status="SUCCESSFUL", finished_at=timezone.now() - timedelta(days=15)
    )
    # Neither is due: the held one waits for staff, the other for its next try.
    forwards.filter(pk__in=[task.pk for task in others]).delete()
    Submission.objects.update(next_attempt_at=timezone.now() + timedelta(hours=1))
    call_command("outbox_sweep", verbosity=0)
    call_command("outbox_sweep", verbosity=0)

    upkeep = DBTaskResult.objects.filter(
        task_path="tickets.operations.upkeep.upkeep_run_task", status="READY"
    )
    [waiting] = upkeep  # exactly one, however often the sweep asks
    assert waiting.run_after > timezone.now() + timedelta(hours=23)
    upkeep.update(run_after=timezone.now())  # a day later
    run_worker()

    assert not Submission.objects.filter(pk=held.pk).exists()
    assert not held_file.storage.exists(held_file.name)
    assert Submission.objects.filter(pk=in_delivery.pk).exists()
    assert not DBTaskResult.objects.filter(pk=old_task.pk).exists()
    # The next upkeep is in place, a day away.
    [following] = DBTaskResult.objects.filter(
        task_path="tickets.operations.upkeep.upkeep_run_task", status="READY"
    )
    assert following.run_after > timezone.now() + timedelta(hours=23)


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


def test_staff_erase_a_customers_data_from_the_admin_after_confirming(admin_client):
    from django.urls import reverse

    theirs = with_file(email="siti@example.my")
    older = submission_create(provider="onecloud", data=onecloud_data(email="SITI@example.my"))
    someone_else = with_file(email="other@example.id")
    changelist = reverse("admin:tickets_submission_changelist")
    chosen = {"action": "erase_customer_data", "_selected_action": [theirs.pk]}

    confirm = admin_client.post(changelist, chosen)
    assert confirm.status_code == 200
    assert "2 submissions of 1 customer" in confirm.content.decode()
    assert Submission.objects.count() == 3

    done = admin_client.post(changelist, {**chosen, "confirm_erase": "yes"}, follow=True)

    assert "2 submissions and their files erased." in done.content.decode()
    assert set(Submission.objects.values_list("pk", flat=True)) == {someone_else.pk}
    assert older.pk not in Submission.objects.values_list("pk", flat=True)


def test_staff_without_the_delete_permission_cannot_erase(client, django_user_model):
    from django.contrib.auth.models import Permission
    from django.urls import reverse

    viewer = django_user_model.objects.create_user("viewer", password="pw-12345678", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_submission"))
    client.force_login(viewer)
    submission = with_file(email="siti@example.my")

    client.post(
        reverse("admin:tickets_submission_changelist"),
        {
            "action": "erase_customer_data",
            "_selected_action": [submission.pk],
            "confirm_erase": "yes",
        },
    )

    assert Submission.objects.filter(pk=submission.pk).exists()


def test_erasure_forgets_that_the_customer_confirmed_their_address_and_number():
    confirm(email="siti@example.my", phone="60199998888")
    confirm(email="other@example.id")

    customer_data_erase(email="Siti@Example.my", phone="60199998888")

    assert Recipient.objects.count() == 1  # someone else's


def test_the_upkeep_forgets_recipients_no_message_names_any_more(sandbox, run_worker):
    submission_create(provider="storehub", data=storehub_data())
    run_worker()
    confirm(email="gone@example.my")
    Recipient.objects.update(created_at=timezone.now() - timedelta(days=2))

    counts = upkeep_run()

    assert counts["recipients_deleted"] == 1
    # The one the request's e-mails name stays (its day's e-mail is recent, too).
    assert Recipient.objects.filter(emails__isnull=False).distinct().count() == 1

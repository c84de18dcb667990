"""Migrations that move data keep it: provider-only fields into ``Submission.details``, and the
tasks waiting in the queue when their functions moved."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("tickets", "0001_initial")]
AFTER = [("tickets", "0002_provider_details_and_provider_calls")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture(autouse=True)
def _back_to_the_latest_schema():
    yield
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_existing_rows_keep_every_field_and_their_calls():
    old_apps = migrate(BEFORE)
    OldSubmission = old_apps.get_model("tickets", "Submission")
    OldAttempt = old_apps.get_model("tickets", "Attempt")
    storehub = OldSubmission.objects.create(
        provider="storehub",
        reference="REQ-MIG001",
        name="Ahmad Ibrahim",
        phone="60123456789",
        issue="*Onsite Support",
        priority=1,
        receive_sms=True,
        remark="Printer offline",
        store_name="KL Branch",
        dealer_reseller="Alex",
        address="23, Jalan Ampang",
        state="Kuala Lumpur",
        service_id=18,
        latitude=Decimal("3.157300"),
        longitude=Decimal("101.712200"),
        attempt_count=3,
    )
    onecloud = OldSubmission.objects.create(
        provider="onecloud",
        reference="REQ-MIG002",
        name="Agung Januar",
        email="agung@email.com",
        subject="Subscribe to onebox",
        category="Request",
        content="Hello",
    )
    OldAttempt.objects.create(
        submission=storehub,
        started_at="2026-11-24T09:00:00Z",
        duration_ms=10,
        url="http://provider.test",
        request={},
        error_class="transient",
    )

    new_apps = migrate(AFTER)
    Submission = new_apps.get_model("tickets", "Submission")
    ProviderCall = new_apps.get_model("tickets", "ProviderCall")

    migrated = Submission.objects.get(reference="REQ-MIG001")
    assert migrated.details == {
        "issue": "*Onsite Support",
        "priority": 1,
        "receive_sms": True,
        "remark": "Printer offline",
        "store_name": "KL Branch",
        "dealer_reseller": "Alex",
        "address": "23, Jalan Ampang",
        "state": "Kuala Lumpur",
        "service_id": 18,
    }
    assert (migrated.name, migrated.phone, migrated.latitude) == (
        "Ahmad Ibrahim",
        "60123456789",
        Decimal("3.157300"),
    )
    assert migrated.forward_count == 3
    assert ProviderCall.objects.filter(submission_id=migrated.pk).count() == 1
    assert Submission.objects.get(reference="REQ-MIG002").details == {
        "subject": "Subscribe to onebox",
        "category": "Request",
        "content": "Hello",
    }
    assert onecloud.pk == Submission.objects.get(reference="REQ-MIG002").pk

    # And back again, for a rollback.
    old_apps = migrate(BEFORE)
    restored = old_apps.get_model("tickets", "Submission").objects.get(reference="REQ-MIG001")
    assert (restored.issue, restored.service_id, restored.receive_sms) == (
        "*Onsite Support",
        18,
        True,
    )


def test_tasks_waiting_under_their_old_paths_are_run_by_the_moved_functions():
    from tickets.delivery.forward import submission_forward_task
    from tickets.operations.upkeep import upkeep_run_task

    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    queue = [node for node in leaves if node[0] == "django_tasks_database"]
    old_apps = migrate([("tickets", "0010_outbox_leased_index_shared"), *queue])
    OldTaskResult = old_apps.get_model("django_tasks_database", "DBTaskResult")
    fields = {
        "status": "READY",
        "args_kwargs": {"args": [7], "kwargs": {}},
        "priority": 0,
        "queue_name": "default",
        "backend_name": "default",
        "run_after": timezone.now(),
    }
    forward = OldTaskResult.objects.create(task_path="tickets.tasks.submission_forward", **fields)
    upkeep = OldTaskResult.objects.create(task_path="tickets.tasks.maintenance_run", **fields)
    other = OldTaskResult.objects.create(task_path="someone_else.tasks.job", **fields)

    new_apps = migrate([("tickets", "0011_task_paths_of_the_delivery_package"), *queue])
    paths = dict(
        new_apps.get_model("django_tasks_database", "DBTaskResult").objects.values_list(
            "pk", "task_path"
        )
    )
    assert paths[forward.pk] == submission_forward_task.module_path
    assert paths[upkeep.pk] == upkeep_run_task.module_path
    assert paths[other.pk] == "someone_else.tasks.job"

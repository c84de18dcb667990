"""The move of provider-only fields into ``Submission.details`` keeps every existing request."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

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

"""Provider-only customer fields move into ``Submission.details``; ``Attempt`` is ``ProviderCall``.

The provider column loses its choices (a new provider needs no migration); the attachment role
likewise. ``attempt_count`` counted forwards, so it is ``forward_count`` now.
"""

import django.core.serializers.json
import django.db.models.deletion
from django.db import migrations, models

# The fields each provider had as columns before, by the provider's form field names.
DETAIL_FIELDS = {
    "onecloud": ("subject", "category", "content"),
    "storehub": (
        "issue",
        "priority",
        "receive_sms",
        "remark",
        "store_name",
        "dealer_reseller",
        "address",
        "state",
        "service_id",
    ),
}
ALL_DETAIL_FIELDS = sorted({name for names in DETAIL_FIELDS.values() for name in names})
# What an empty column held, for the way back.
EMPTY = {"priority": None, "receive_sms": None, "service_id": None}


def columns_to_details(apps, schema_editor):
    Submission = apps.get_model("tickets", "Submission")
    batch = []
    for submission in Submission.objects.only("pk", "provider", *ALL_DETAIL_FIELDS).iterator():
        names = DETAIL_FIELDS.get(submission.provider, ALL_DETAIL_FIELDS)
        submission.details = {name: getattr(submission, name) for name in names}
        batch.append(submission)
        if len(batch) >= 500:
            Submission.objects.bulk_update(batch, ["details"])
            batch = []
    Submission.objects.bulk_update(batch, ["details"])


def details_to_columns(apps, schema_editor):
    Submission = apps.get_model("tickets", "Submission")
    for submission in Submission.objects.iterator():
        for name in ALL_DETAIL_FIELDS:
            value = submission.details.get(name, EMPTY.get(name, ""))
            setattr(submission, name, EMPTY.get(name, "") if value is None else value)
        submission.save(update_fields=ALL_DETAIL_FIELDS)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="submission",
            name="details",
            field=models.JSONField(
                blank=True, default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder
            ),
        ),
        migrations.RunPython(columns_to_details, details_to_columns, elidable=False),
        *[
            migrations.RemoveField(model_name="submission", name=name)
            for name in ALL_DETAIL_FIELDS
        ],
        migrations.AlterField(
            model_name="submission",
            name="provider",
            field=models.CharField(max_length=40),
        ),
        migrations.RenameField(
            model_name="submission", old_name="attempt_count", new_name="forward_count"
        ),
        migrations.AlterField(
            model_name="attachment",
            name="role",
            field=models.CharField(max_length=40),
        ),
        migrations.RenameModel(old_name="Attempt", new_name="ProviderCall"),
        migrations.AlterField(
            model_name="providercall",
            name="submission",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="calls",
                to="tickets.submission",
            ),
        ),
    ]

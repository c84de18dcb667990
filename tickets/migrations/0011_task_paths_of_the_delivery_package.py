"""Tasks waiting in the queue carry the dotted path of their function: the tasks moved from
``tickets.tasks`` into the modules that own their work, so the rows still waiting are pointed at
the new paths (a worker could not import the old ones)."""

from django.db import migrations

MOVED = {
    "tickets.tasks.submission_forward": "tickets.delivery.forward.submission_forward_task",
    "tickets.tasks.email_send": "tickets.delivery.email.email_send_task",
    "tickets.tasks.staff_alerts_send": "tickets.delivery.email.staff_alerts_send_task",
    "tickets.tasks.whatsapp_send": "tickets.delivery.whatsapp.service.whatsapp_send_task",
    "tickets.tasks.outbox_sweep": "tickets.delivery.recovery.outbox_sweep_task",
    "tickets.tasks.maintenance_run": "tickets.operations.upkeep.upkeep_run_task",
}


def repoint(apps, schema_editor, moves=MOVED):
    task_result = apps.get_model("django_tasks_database", "DBTaskResult")
    for old, new in moves.items():
        task_result.objects.filter(task_path=old).update(task_path=new)


def point_back(apps, schema_editor):
    repoint(apps, schema_editor, moves={new: old for old, new in MOVED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0010_outbox_leased_index_shared"),
        ("django_tasks_database", "0001_initial"),
    ]

    operations = [migrations.RunPython(repoint, point_back)]

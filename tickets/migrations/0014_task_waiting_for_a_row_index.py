"""An index for the task waiting for one outbox row: a worker that claims a row takes the row's
waiting task out of the queue (``scheduling.unqueue``), and without the index each claim read
every ready task, so a backlog of a thousand made every forward slower (``make bench``).

PostgreSQL only: the index matches the ``args_kwargs #> '{args,0}'`` Django writes there; on
SQLite Django's JSON lookup is an expression no index can follow, and an embedded portal's
queue stays short."""

from django.db import migrations

INDEX = "task_waiting_for_a_row"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON django_tasks_database_dbtaskresult "
            "(task_path, (args_kwargs #> '{args,0}')) WHERE status = 'READY'"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0013_access_code_browser_key"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]

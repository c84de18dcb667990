"""Queueing a task about a row that the current transaction writes.

The task queue is a table in the portal's own database (django-tasks-db), so a task queued
inside the transaction becomes visible together with the row it is about, and one commit serves
both: no task can be lost between the commit and the enqueue, and a customer's request costs one
write transaction instead of three. A failing enqueue is caught in a savepoint and logged: the
row is still stored and the sweep queues its task later. With a queue outside the database the
task is queued once the transaction has committed, so a worker never looks for a row that is not
there yet.
"""

import logging
from collections.abc import Callable

from django.db import connection, transaction
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends

logger = logging.getLogger(__name__)


def queue_with_transaction(enqueue: Callable[[], object], *, what: str) -> None:
    """Run ``enqueue`` with the current transaction (see above). Never raises."""

    def attempt() -> None:
        try:
            with transaction.atomic():  # a savepoint: a failed enqueue leaves the rest intact
                enqueue()
        except Exception:
            logger.exception("could not queue %s; the sweep will", what)

    if connection.in_atomic_block and _queue_is_in_this_database():
        attempt()
    else:
        transaction.on_commit(attempt, robust=True)


def _queue_is_in_this_database() -> bool:
    from django_tasks_db import DatabaseBackend

    # The backend itself: ``django.tasks.default_task_backend`` is a proxy, and isinstance()
    # sees the proxy's class, never the backend's.
    return isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend)


def rows_with_a_task_waiting(task, *, row: int | None = None) -> set[int]:
    """The rows (a task's first argument) for which ``task`` waits in the queue: a backlog, not
    a loss. One query, for a sweep's whole batch, or for the one ``row`` asked about.

    Only the database queue can be asked; with another queue the answer is "none", and the sweep
    may add a second task, which finds nothing due to claim.
    """
    if not _queue_is_in_this_database():
        return set()
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(task_path=task.module_path, status=TaskResultStatus.READY)
    if row is not None:
        waiting = waiting.filter(args_kwargs__args__0=row)
    waiting = waiting.values_list("args_kwargs", flat=True)
    return {arguments["args"][0] for arguments in waiting if arguments.get("args")}

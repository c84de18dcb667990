"""Every way into the task queue: ``schedule``, and the periodic work that always waits there
(the sweep, the daily upkeep), registered by the modules that own it.

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
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, Task, TaskResultStatus, task_backends

from tickets.delivery import locks
from tickets.delivery.clock import database_now, local_time_of, queue_time_in

logger = logging.getLogger(__name__)


def schedule(
    task: Task,
    *args: int,
    due: datetime | None = None,
    now: datetime | None = None,
    priority: int | None = None,
) -> None:
    """Queue ``task(*args)`` for ``due`` (the database's time; None: at once), with the current
    transaction (see above). Never raises. ``now``: the database's time, when the caller has it.
    ``priority``: the task's own unless given; workers take the highest of the ready ones first.
    """
    if priority is not None:
        task = task.using(priority=priority)
    if due is not None:
        now = now or database_now()
        if due > now:
            task = task.using(run_after=local_time_of(due, database_time=now))
    what = f"{task.name}{args or ''}"

    def enqueue() -> None:
        try:
            with transaction.atomic():  # a savepoint: a failed enqueue leaves the rest intact
                task.enqueue(*args)
        except Exception:
            logger.exception("could not queue %s; the sweep will", what)

    if connection.in_atomic_block and _queue_is_in_this_database():
        enqueue()
    else:
        transaction.on_commit(enqueue, robust=True)


def _queue_is_in_this_database() -> bool:
    from django_tasks_db import DatabaseBackend

    # The backend itself: ``django.tasks.default_task_backend`` is a proxy, and isinstance()
    # sees the proxy's class, never the backend's.
    return isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend)


def unqueue(task: Task, row: int) -> None:
    """Take ``task``'s waiting runs for ``row`` out of the queue, with the current transaction:
    the row's work is being done now. Only the database queue can be asked; with another queue
    the task stays, and finds nothing to claim."""
    if not _queue_is_in_this_database():
        return
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(
        task_path=task.module_path, status=TaskResultStatus.READY, args_kwargs__args__0=row
    ).delete()


def rows_with_a_task_waiting(task: Task, *, row: int | None = None) -> set[int]:
    """The rows (a task's first argument) for which ``task`` waits in the queue: a backlog, not
    a loss. One query, for a sweep's whole batch, or for the one ``row`` asked about.

    Only the database queue can be asked; with another queue the answer is "none", and the sweep
    may add a second task, which finds nothing due to claim.
    """
    if not _queue_is_in_this_database():
        return set()
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(task_path=task.module_path, status=TaskResultStatus.READY)
    if row is not None:
        waiting = waiting.filter(args_kwargs__args__0=row)
    waiting = waiting.values_list("args_kwargs", flat=True)
    return {arguments["args"][0] for arguments in waiting if arguments.get("args")}


@dataclass(frozen=True)
class Periodic:
    """Work that always waits in the queue, exactly once: the sweep, the daily upkeep."""

    task: Task
    # Seconds between runs, read when one is queued (settings can change under tests).
    every_seconds: Callable[[], float]
    # Serialises the check-and-add across processes (``locks``).
    lock: int
    # Also made sure of by every claim in an outbox, so a lost one comes back with the next work.
    with_every_claim: bool


# Filled when the modules that own the work are imported (``TicketsConfig.ready``).
_PERIODIC: list[Periodic] = []


def periodic(
    *, every_seconds: Callable[[], float], lock: int, with_every_claim: bool = False
) -> Callable[[Task], Task]:
    """Register a task as periodic work: ``periodic_ensure_scheduled`` keeps one waiting, and
    each run puts its successor in place."""

    def register(task: Task) -> Task:
        _PERIODIC.append(Periodic(task, every_seconds, lock, with_every_claim))
        return task

    return register


def periodic_ensure_scheduled(*, with_every_claim: bool = False) -> None:
    """Keep exactly one of each periodic task waiting in the queue (``with_every_claim``: only
    those a claim makes sure of). Called at the start of every sweep and every claim, and by
    ``manage.py outbox_sweep``."""
    for work in _PERIODIC:
        if work.with_every_claim or not with_every_claim:
            _keep_one_waiting(work.task, every_seconds=work.every_seconds(), lock=work.lock)


def _keep_one_waiting(task: Task, *, every_seconds: float, lock: int) -> None:
    """One ``task`` waiting in the queue, due ``every_seconds`` from now when one is added.
    Changes are serialised by ``lock``, so several workers never add two."""
    from django_tasks_db.models import DBTaskResult

    def waiting():
        return DBTaskResult.objects.filter(
            task_path=task.module_path, status=TaskResultStatus.READY
        )

    if waiting().count() == 1:
        return
    with transaction.atomic():
        locks.serialise(lock)
        queued = list(waiting().order_by("run_after", "enqueued_at").values_list("pk", flat=True))
        if not queued:
            task.using(run_after=queue_time_in(every_seconds)).enqueue()
        elif len(queued) > 1:
            waiting().filter(pk__in=queued[1:]).delete()

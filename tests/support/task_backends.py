"""Task backends for faults that no real queue produces on demand."""

from django.db import OperationalError
from django_tasks_db import DatabaseBackend


class UnreachableQueue(DatabaseBackend):
    """The database queue as it is when its server cannot be reached: every enqueue fails."""

    def enqueue(self, task, args, kwargs):
        raise OperationalError("could not connect to the task queue")

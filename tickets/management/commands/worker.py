"""``manage.py worker``: django-tasks-db's ``db_worker`` (same options) that waits out a
database outage instead of exiting, as the queue workers of Sidekiq, Oban or Celery do.

``db_worker`` lets an unreachable database end its process, and with it delivery. Here the
worker logs the outage once, tries again after 1, 2, 4... up to 30 seconds, and takes up the
queue when the database answers. A task cut short by the outage is left "running" in the queue;
its row is not lost: the sweep gives it a new task once it is overdue.
"""

import logging
import time

from django.db import InterfaceError, OperationalError, connections
from django_tasks_db.management.commands import db_worker

from tickets.database import database_answers

logger = logging.getLogger(__name__)

LONGEST_WAIT_SECONDS = 30


class Command(db_worker.Command):
    help = "Run the background worker; it waits out a database outage instead of exiting."

    def handle(self, **options) -> None:
        wait, down_since = 1.0, None
        while True:
            if down_since is not None:
                if not database_answers():
                    time.sleep(wait)
                    wait = min(wait * 2, LONGEST_WAIT_SECONDS)
                    continue
                logger.warning(
                    "the database answers again after %.0f s: the worker goes on",
                    time.monotonic() - down_since,
                )
                wait, down_since = 1.0, None
            try:
                return super().handle(**options)
            except (OperationalError, InterfaceError) as exc:
                connections.close_all()
                if database_answers():
                    raise  # not an outage: a query of ours failed
                down_since = time.monotonic()
                logger.error("the database cannot be reached (%s): the worker waits for it", exc)

"""``manage.py worker``: django-tasks-db's ``db_worker`` (same options) that waits out a
database outage instead of exiting, as the queue workers of Sidekiq, Oban or Celery do.

``db_worker`` lets an unreachable database end its process, and with it delivery. Here the
worker logs the outage once, tries again after 0.5, 1, 2... up to 30 seconds, and takes up
the queue when the database answers (``tickets.delivery.database.through_an_outage``). A task cut
short by the outage is left "running" in the queue; its row is not lost: the sweep gives it a new
task once it is overdue.

Its own lines (a task started, a task done) keep to ``LOG_LEVEL`` as every other logger does:
``db_worker`` would set them to INFO whatever the setting, and ``make run``'s WARNING would then
be buried under two lines for every task.
"""

import logging

from django.db import connection
from django_tasks_db.management.commands import db_worker

from tickets.delivery.database import through_an_outage


class Command(db_worker.Command):
    help = "Run the background worker; it waits out a database outage instead of exiting."

    def configure_logging(self, verbosity: int) -> None:
        super().configure_logging(verbosity)
        if verbosity == 1:
            configured = logging.getLogger().level
            for name in (db_worker.TASKS_LOGGER, db_worker.logger.name):
                chosen = logging.getLogger(name)
                chosen.setLevel(max(chosen.level, configured))

    def handle(self, **options) -> None:
        # One connection for the worker's life, whatever DATABASE_CONN_MAX_AGE says for the
        # web: the loop closes an expired one after every task, and opening one costs more than
        # a forward's queries. A connection the server dropped is found before it is used.
        database = connection.settings_dict
        kept = database["CONN_MAX_AGE"], database["CONN_HEALTH_CHECKS"]
        database["CONN_MAX_AGE"], database["CONN_HEALTH_CHECKS"] = None, True
        try:
            through_an_outage(lambda: super(Command, self).handle(**options), what="the worker")
        finally:
            database["CONN_MAX_AGE"], database["CONN_HEALTH_CHECKS"] = kept

"""``manage.py worker``: django-tasks-db's ``db_worker`` (same options) that waits out a
database outage instead of exiting, as the queue workers of Sidekiq, Oban or Celery do.

``db_worker`` lets an unreachable database end its process, and with it delivery. Here the
worker logs the outage once, tries again after 0.5, 1, 2... up to 30 seconds, and takes up
the queue when the database answers (``tickets.delivery.database.through_an_outage``). A task cut
short by the outage is left "running" in the queue; its row is not lost: the sweep gives it a new
task once it is overdue.
"""

from django_tasks_db.management.commands import db_worker

from tickets.delivery.database import through_an_outage


class Command(db_worker.Command):
    help = "Run the background worker; it waits out a database outage instead of exiting."

    def handle(self, **options) -> None:
        through_an_outage(lambda: super(Command, self).handle(**options), what="the worker")

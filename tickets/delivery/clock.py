"""One clock for delivery: leases and due times come from the database, not from each machine.

Web processes and workers on several machines compare the same timestamps (a lease written by one
worker is judged expired by another), so every such timestamp is taken from the database server's
clock. SQLite lives on this one machine, so its clock is this machine's.
"""

from datetime import datetime, timedelta

from django.db import connection
from django.db.models import DateTimeField, Expression, Func, Value
from django.utils import timezone


def database_now() -> datetime:
    """The database server's time now (not the transaction's start: each call moves on)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            return cursor.fetchone()[0]
    return timezone.now()


def database_now_in_query() -> Expression:
    """The database's time as an expression, to filter and annotate a query with: the rows
    and the time they were read at in one round trip instead of two. PostgreSQL's time at the
    statement's start (``statement_timestamp()``, fixed for the statement, so an index can
    compare with it); on SQLite, this machine's time, as ``database_now``."""
    if connection.vendor == "postgresql":
        return Func(template="statement_timestamp()", output_field=DateTimeField())
    return Value(timezone.now(), output_field=DateTimeField())


def local_time_of(moment: datetime, *, database_time: datetime) -> datetime:
    """``moment`` (on the database's clock) on this machine's clock, for APIs that use ours.

    The task queue compares ``run_after`` with the worker's clock, so a due time is handed to it
    as "the same wait from now" rather than as the database's timestamp.
    """
    return timezone.now() + (moment - database_time)


def queue_time_in(seconds: float) -> datetime:
    """``seconds`` from now on this machine's clock, for the task queue's ``run_after``."""
    return timezone.now() + timedelta(seconds=seconds)

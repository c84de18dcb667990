"""Serialising a decision across web processes and workers, whatever the database."""

from django.db import connection

# One key per decision that must not be taken twice at once.
SWEEP_SCHEDULE = 7_301_001
STAFF_ALERT_DIGEST = 7_301_002
UPKEEP_SCHEDULE = 7_301_003
CHECKING_ALERT = 7_301_004


def serialise(key: int) -> None:
    """Hold the lock ``key`` until the current transaction ends (call inside ``atomic``).

    PostgreSQL: a transaction-scoped advisory lock. SQLite: nothing to do, every transaction is
    IMMEDIATE (settings), so it already holds the one write lock.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])

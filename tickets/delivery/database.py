"""The database going away: telling an outage (wait for it) from a failing query (raise), and
waiting one out."""

import logging
import time
from collections.abc import Callable

from django.db import DatabaseError, InterfaceError, OperationalError, connection, connections

logger = logging.getLogger(__name__)

# What a lost connection or a stopped server raises (and a lock held too long, on SQLite).
OUTAGE_ERRORS = (OperationalError, InterfaceError)
# The waits between tries double from the first to the longest.
FIRST_WAIT_SECONDS, LONGEST_WAIT_SECONDS = 0.5, 30.0


def database_answers() -> bool:
    """One round trip on a fresh or usable connection; False while the server is away."""
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        connection.close()
        return False
    return True


def through_an_outage[Result](
    operation: Callable[[], Result], *, what: str, tries_while_answering: int = 1
) -> Result:
    """``operation()``, run again for as long as the database is away (after 0.5, 1, 2... up
    to 30 s), the outage logged once when it begins and once when it ends.

    An error while the database answers is no outage but the operation's own (a query of ours,
    a lock held too long): it is raised at its ``tries_while_answering``-th time.
    """
    wait, down_since, failures_while_answering = FIRST_WAIT_SECONDS, None, 0
    while True:
        if down_since is not None:
            if not database_answers():
                time.sleep(wait)
                wait = min(wait * 2, LONGEST_WAIT_SECONDS)
                continue
            logger.warning(
                "%s: the database answers again after %.0f s", what, time.monotonic() - down_since
            )
            wait, down_since = FIRST_WAIT_SECONDS, None
        try:
            return operation()
        except OUTAGE_ERRORS as exc:
            connections.close_all()  # the next try opens fresh connections
            if database_answers():
                failures_while_answering += 1
                if failures_while_answering >= tries_while_answering:
                    raise
                time.sleep(wait)
                wait = min(wait * 2, LONGEST_WAIT_SECONDS)
                continue
            down_since = time.monotonic()
            logger.error("%s: the database cannot be reached (%s); waiting for it", what, exc)

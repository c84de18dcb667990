"""Writers on SQLite take the lock in turn: one that has waited long is not left asleep."""

import sqlite3
import threading
import time

import pytest
from django.db import OperationalError, connection, transaction

from tickets.models import Submission

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite's write lock"),
]


def hold_the_write_lock(seconds: float) -> tuple[threading.Thread, dict]:
    """Another writer (a worker, say) keeps the write lock for ``seconds``."""
    held, moments = threading.Event(), {}

    def hold() -> None:
        other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        moments["released"] = time.monotonic()
        other.execute("COMMIT")
        other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    return thread, moments


def test_a_post_that_waited_gets_the_lock_as_soon_as_it_is_free():
    # SQLite's own busy handler sleeps 100 ms between tries once a writer has waited 0.3 s:
    # let go at 0.44 s, it would try again at 0.53 s.
    Submission.objects.count()  # the connection opened before the clock starts
    thread, moments = hold_the_write_lock(0.44)
    with transaction.atomic():
        got_it = time.monotonic()
    thread.join()
    assert got_it - moments["released"] < 0.03


def test_a_writer_that_never_frees_the_lock_still_fails_after_the_timeout(settings):
    Submission.objects.count()
    options = connection.settings_dict["OPTIONS"]
    timeout, options["timeout"] = options.get("timeout", 5), 0.3
    thread, _moments = hold_the_write_lock(1.0)
    started = time.monotonic()
    try:
        with pytest.raises(OperationalError, match="locked"), transaction.atomic():
            pass
        waited = time.monotonic() - started
    finally:
        options["timeout"] = timeout
        thread.join()
    assert 0.25 < waited < 0.9
    # The connection is usable afterwards, with its usual patience.
    with transaction.atomic():
        assert Submission.objects.count() == 0
    assert connection.cursor().execute("PRAGMA busy_timeout").fetchone()[0] == timeout * 1000

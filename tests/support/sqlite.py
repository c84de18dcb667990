"""SQLite's one writer, held by another connection as a web process's post would hold it."""

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def the_writer_held_elsewhere() -> Iterator[threading.Event]:
    """Another connection holds the write lock until the block ends; the event is set once
    it has let go."""
    held, done, released = threading.Event(), threading.Event(), threading.Event()

    def hold() -> None:
        other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        held.set()
        done.wait(60)
        released.set()
        other.execute("COMMIT")
        other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(10)
    try:
        yield released
    finally:
        done.set()
        thread.join()

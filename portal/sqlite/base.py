"""Django's SQLite backend, with writers that take the lock in turn instead of starving.

SQLite lets one writer in at a time; the others wait in its busy handler, which sleeps 1, 2, 5,
10... then 100 ms between tries. With the web processes and a worker writing to one file, a post
that has waited a while sleeps 100 ms at a time and keeps losing the lock to newcomers that try
sooner: posts waited up to 1.4 s (p99) while a worker forwarded (`make bench`). Here a write
transaction (``BEGIN IMMEDIATE``, the portal's ``transaction_mode``) tries again every
millisecond, old waiters as often as new ones, until the connection's ``timeout`` (20 s) has
passed; then it fails as before ("database is locked"). Only the waiting changes: journal mode,
``synchronous=FULL`` and what a commit puts on the disk are SQLite's, as before.
"""

import sqlite3
import time

from django.db.backends.sqlite3 import base

# Between two tries for the write lock: a commit on the disk takes milliseconds.
RETRY_SECONDS = 0.001


class DatabaseWrapper(base.DatabaseWrapper):
    def _start_transaction_under_autocommit(self) -> None:
        if self.transaction_mode != "IMMEDIATE":
            super()._start_transaction_under_autocommit()
            return
        timeout = float(self.settings_dict["OPTIONS"].get("timeout", 5))
        deadline = time.monotonic() + timeout
        raw = self.connection
        raw.execute("PRAGMA busy_timeout = 0")
        try:
            while time.monotonic() < deadline:
                try:
                    raw.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                        break
                time.sleep(RETRY_SECONDS)
            # Once more through Django's cursor: a failure is Django's OperationalError, as before.
            super()._start_transaction_under_autocommit()
        finally:
            raw.execute(f"PRAGMA busy_timeout = {round(timeout * 1000)}")

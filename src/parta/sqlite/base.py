"""SQLite for the embedded default: one process's writers queue on a lock of its own.

With `transaction_mode = IMMEDIATE` every transaction takes SQLite's write lock at BEGIN, and
a transaction that finds it taken is left to SQLite's busy handler, which sleeps and tries
again (1, 2, 5 … 100 ms between tries) with nobody to wake it when the lock frees. Django's
ASGI handler runs each request in a thread of its own, so ten senders at once spent most of
a send asleep in BEGIN: py-spy put 166 of 1,021 samples of the server there at 50 msg/s,
and it kept up with 20 msg/s. Waiting on a lock in this process instead wakes the next
writer the moment the last one commits. Other processes (`parta` commands beside the
server) still meet SQLite's own lock, as before.
"""

import threading

from django.db import OperationalError
from django.db.backends.sqlite3 import base

_guard = threading.Lock()
_write_locks: dict[str, threading.Lock] = {}


def _write_lock(name: str) -> threading.Lock:
    """The lock of one database file, shared by all of this process's connections to it."""
    with _guard:
        return _write_locks.setdefault(name, threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False

    def _start_transaction_under_autocommit(self) -> None:
        lock = _write_lock(str(self.settings_dict["NAME"]))
        # As long as SQLite itself would have waited (the `timeout` option, 5 s by default).
        if not lock.acquire(timeout=float(self.settings_dict["OPTIONS"].get("timeout", 5))):
            raise OperationalError("database is locked")
        self._holds_write_lock = True
        try:
            # What Django's SQLite backend runs here (its `transaction_mode` option).
            mode = self.settings_dict["OPTIONS"].get("transaction_mode")
            self.cursor().execute(f"BEGIN {mode}" if mode else "BEGIN")
        except BaseException:
            self._release_write_lock()
            raise

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release_write_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release_write_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            # A closed connection's transaction is over, whatever it was.
            self._release_write_lock(closed=True)

    def _release_write_lock(self, closed: bool = False) -> None:
        if not self._holds_write_lock:
            return
        # Only once SQLite's own transaction is over: a failed COMMIT leaves it open for
        # the ROLLBACK that follows, and the lock goes with that.
        if not closed and self.connection is not None and self.connection.in_transaction:
            return
        self._holds_write_lock = False
        _write_lock(str(self.settings_dict["NAME"])).release()

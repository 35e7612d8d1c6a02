"""Write transactions on a SQLite file, counted in shared memory, so the response cache of
every process on the machine can tell "nothing was written" without asking the database.

Next to the database file ``app.sqlite`` sits ``app.sqlite-writes``: two 64-bit counters,
mapped into every process that opens the database (as SQLite does with its ``-shm`` file).

- ``started``: bumped by a write transaction right after it took SQLite's write lock (in
  :func:`api.storage.publish.lock_writes`), so writers bump it one at a time and it only grows;
- ``finished``: set to that transaction's ticket (its value of ``started``) once it committed
  or rolled back.

A reader that sees ``started == finished == n``, read before it asked the database for the
data version, and sees the same again later, knows that no write transaction committed in
between: any that did would have bumped ``started`` first, and one whose ticket is ``n`` set
``finished`` only after it ended. A writer that dies between its commit and its ``finished``
leaves ``started > finished``: readers then ask the database every time, until the next write
ends or, after :data:`SETTLE_AFTER`, a reader holding SQLite's write lock (so no counted
transaction can be under way) sets ``finished = started``. Both counters are read and written
as single aligned 8-byte words.

Writes that do not go through :func:`api.storage.publish.lock_writes` (a restored backup, an
edit with the ``sqlite3`` shell, another version of the app) are not counted: readers ask the
database at least every :data:`VERIFY_SECONDS` anyway, so they show within that time. So do writes
counted in a file that was deleted or replaced meanwhile: every write and every database read
checks that the file mapped is still the one at the path. Like SQLite's ``-shm``, the file
must not be truncated while processes have it mapped (deleting it is fine).
"""

from __future__ import annotations

import logging
import mmap
import os
import sqlite3
import struct
import threading
from typing import Any

from sqlalchemy.engine import make_url

#: The file next to the database: its name plus this.
SUFFIX = "-writes"
#: Readers trust the counters for at most this long before asking the database again.
VERIFY_SECONDS = 0.1
#: Counters left unequal this long are settled by the next reader (:meth:`WriteCounter.settle`).
SETTLE_AFTER = 1.0
_WORDS = struct.Struct("=QQ")
LOG = logging.getLogger(__name__)


class WriteCounter:
    """The two counters of one database file (see the module's documentation)."""

    def __init__(self, path: str, database: str) -> None:
        self.path = path
        self.database = database
        self._lock = threading.Lock()
        self._unequal: tuple[tuple[int, int], float] | None = None  # (pair, first seen)
        self._identity: tuple[int, int] = (0, 0)
        self._map = self._open()

    def _open(self) -> mmap.mmap:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)  # as the engine does
        try:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            _like_database(descriptor, self.database)
        except FileExistsError:
            descriptor = os.open(self.path, os.O_RDWR)
        try:
            status = os.fstat(descriptor)
            if status.st_size < _WORDS.size:
                os.ftruncate(descriptor, _WORDS.size)  # new: both zero
            mapped = mmap.mmap(descriptor, _WORDS.size, mmap.MAP_SHARED,
                               mmap.PROT_READ | mmap.PROT_WRITE)
            self._identity = (status.st_dev, status.st_ino)
            return mapped
        finally:
            os.close(descriptor)

    def refresh(self) -> None:
        """Map the file again if it was deleted or replaced since (a new one is made): every
        process then counts in the same file again, at its next write or version read."""
        try:
            status = os.stat(self.path)
            if (status.st_dev, status.st_ino) == self._identity:
                return
        except FileNotFoundError:
            pass
        except OSError:
            return
        with self._lock:
            try:
                self._map = self._open()
            except (OSError, ValueError) as error:  # kept as it was: later writes show late
                LOG.warning("cannot map %s again (%s)", self.path, error)

    def read(self) -> tuple[int, int]:
        """``(started, finished)``."""
        return _WORDS.unpack_from(self._map)  # type: ignore[return-value]

    def begin(self) -> tuple[mmap.mmap, int]:
        """Count a write transaction that holds SQLite's write lock; its ticket."""
        self.refresh()
        mapped = self._map
        ticket = int(struct.unpack_from("=Q", mapped, 0)[0]) + 1
        struct.pack_into("=Q", mapped, 0, ticket)
        return mapped, ticket

    @staticmethod
    def end(ticket: tuple[mmap.mmap, int]) -> None:
        """The transaction holding ``ticket`` committed or rolled back. If another began
        since, the last to end says so: an older ticket would leave the counters unequal."""
        mapped, number = ticket
        if struct.unpack_from("=Q", mapped, 0)[0] == number:
            struct.pack_into("=Q", mapped, 8, number)

    def settle(self, started: int, finished: int, now: float) -> None:
        """Called by readers that see ``started != finished``. Counters left that way for
        :data:`SETTLE_AFTER` (a writer killed before it could end its ticket, or two that
        ended out of order) would make every reader ask the database until the next write
        ends: take SQLite's write lock, without waiting; holding it, no counted transaction is
        under way, so ``finished = started``."""
        pair = (started, finished)
        unequal = self._unequal
        if unequal is None or unequal[0] != pair:
            self._unequal = (pair, now)
            return
        if now - unequal[1] < SETTLE_AFTER:
            return
        self._unequal = None
        try:
            connection = sqlite3.connect(self.database, timeout=0, isolation_level=None)
        except sqlite3.Error:
            return
        try:
            connection.execute("BEGIN IMMEDIATE")  # fails at once while a writer holds it
            try:
                mapped = self._map
                started, finished = _WORDS.unpack_from(mapped)
                if started != finished:
                    struct.pack_into("=Q", mapped, 8, started)
                    LOG.warning("write counters in %s were left at %d started, %d finished "
                                "(a writer stopped before it could end its count); settled",
                                self.path, started, finished)
            finally:
                connection.execute("ROLLBACK")
        except sqlite3.Error:  # a writer holds the lock: its end will tell
            pass
        finally:
            connection.close()


def _like_database(descriptor: int, database: str) -> None:
    """Give a new counters file the database file's permissions and owner, as SQLite does with
    its ``-wal`` and ``-shm`` files: a command run by another user (``flask seed`` as root)
    must not make a file the server's processes cannot write."""
    try:
        status = os.stat(database)
    except OSError:
        return  # no database yet: the defaults
    try:
        os.fchmod(descriptor, status.st_mode & 0o666)
        if os.geteuid() == 0:
            os.fchown(descriptor, status.st_uid, status.st_gid)
    except OSError:
        pass


_counters: dict[str, WriteCounter] = {}
_lock = threading.Lock()


def for_url(database_url: Any) -> WriteCounter | None:
    """The counter of a SQLite database file (one per file and process), or None: another
    database, SQLite in memory, or a file next to which nothing can be written (tried again
    at the next call: a writer that cannot count makes others see its writes up to
    :data:`VERIFY_SECONDS` late, so it says so in the log)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") \
            or "mode=memory" in str(url) or str(url.database).startswith("file:"):
        return None
    database = os.path.realpath(url.database)
    path = database + SUFFIX
    counter = _counters.get(path)
    if counter is not None:
        return counter
    with _lock:
        if path not in _counters:
            try:
                _counters[path] = WriteCounter(path, database)
            except (OSError, ValueError) as error:
                LOG.warning("cannot count writes in %s (%s): other processes see this "
                            "process's writes up to %.1f s late (or as late as their "
                            "HTCONTENT_RESPONSE_CACHE_TRUST_MS)", path, error, VERIFY_SECONDS)
                return None
        return _counters[path]

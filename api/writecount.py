"""Write transactions on a SQLite file, counted in shared memory, so the response cache of
every process on the machine can tell "nothing was written" without asking the database.

Next to the database file ``app.sqlite`` sits ``app.sqlite-writes``: two 64-bit counters,
mapped into every process that opens the database (as SQLite does with its ``-shm`` file).

- ``started``: bumped by a write transaction right after it took SQLite's write lock (in
  :func:`api.store.lock_writes`), so writers bump it one at a time and it only grows;
- ``finished``: set to that transaction's ticket (its value of ``started``) once it committed
  or rolled back.

A reader that sees ``started == finished == n``, read before it asked the database for the
data version, and sees the same again later, knows that no write transaction committed in
between: any that did would have bumped ``started`` first, and one whose ticket is ``n`` set
``finished`` only after it ended. A writer that dies between its commit and its ``finished``
leaves ``started > finished``: readers then ask the database every time, until the next write
ends. Both counters are read and written as single aligned 8-byte words.

Writes that do not go through :func:`api.store.lock_writes` (a restored backup, an edit with
the ``sqlite3`` shell, another version of the app) are not counted: readers ask the database
at least every :data:`VERIFY_SECONDS` anyway, so they show within that time.
"""

from __future__ import annotations

import logging
import mmap
import os
import struct
import threading
from typing import Any

from sqlalchemy.engine import make_url

#: The file next to the database: its name plus this.
SUFFIX = "-writes"
#: Readers trust the counters for at most this long before asking the database again.
VERIFY_SECONDS = 0.1
_WORDS = struct.Struct("=QQ")
LOG = logging.getLogger(__name__)


class WriteCounter:
    """The two counters of one database file (see the module's documentation)."""

    def __init__(self, path: str) -> None:
        self.path = path
        os.makedirs(os.path.dirname(path), exist_ok=True)  # as the engine does for the database
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.fstat(descriptor).st_size < _WORDS.size:
                os.ftruncate(descriptor, _WORDS.size)  # new: both zero
            self._map = mmap.mmap(descriptor, _WORDS.size, mmap.MAP_SHARED,
                                  mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(descriptor)

    def read(self) -> tuple[int, int]:
        """``(started, finished)``."""
        return _WORDS.unpack_from(self._map)  # type: ignore[return-value]

    def begin(self) -> int:
        """Count a write transaction that holds SQLite's write lock; its ticket."""
        ticket = struct.unpack_from("=Q", self._map, 0)[0] + 1
        struct.pack_into("=Q", self._map, 0, ticket)
        return ticket  # type: ignore[no-any-return]

    def end(self, ticket: int) -> None:
        """The transaction holding ``ticket`` committed or rolled back."""
        struct.pack_into("=Q", self._map, 8, ticket)


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
    path = os.path.realpath(url.database) + SUFFIX
    counter = _counters.get(path)
    if counter is not None:
        return counter
    with _lock:
        if path not in _counters:
            try:
                _counters[path] = WriteCounter(path)
            except (OSError, ValueError) as error:
                LOG.warning("cannot count writes in %s (%s): other processes see this "
                            "process's writes up to %.1f s late", path, error, VERIFY_SECONDS)
                return None
        return _counters[path]

"""The data version as the response cache reads it: the database's random epoch and its write
counter (``write_lock``), on connections of its own, or from SQLite's shared write counters
(:mod:`api.accel.writecount`) without touching the database."""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

from sqlalchemy.engine import make_url

from api.accel import writecount

#: A data version: the database's random epoch and its write counter (``write_lock``).
Version = tuple[str, int]


class DataVersion:
    """Reads the data version (``write_lock``'s epoch and counter) on connections of its own:
    autocommit, so each read sees the latest commit, and pooled, so a server that starts a
    thread per request reuses them (at most ``MAX_IDLE`` are kept open). ``None`` when the
    database cannot be reached; after a failure it does not try again for a second, so an
    outage costs the full path nothing extra.

    With ``trust_seconds`` > 0 a value read is reused for that long without asking the
    database (any write through this process makes the next request ask): requests then touch
    nothing, at the price of seeing another process's writes up to ``trust_seconds`` late.
    """

    RETRY_AFTER_FAILURE = 1.0
    MAX_IDLE = 8
    QUERY = "SELECT epoch, counter FROM write_lock WHERE id = 1"

    def __init__(self, database_url: str, connect_timeout: int,
                 trust_seconds: float = 0.0) -> None:
        self.trust_seconds = trust_seconds
        self._trusted: tuple[Version, float] | None = None
        self._generation = 0
        self._trust_lock = threading.Lock()
        url = make_url(database_url)
        self.sqlite_path: str | None = None
        self.pg_url: str | None = None
        #: SQLite: write transactions counted in shared memory (:mod:`api.accel.writecount`); the
        #: version read is reused while they show none ended, for ``verify_seconds`` at most.
        self.writes: writecount.WriteCounter | None = None
        self.verify_seconds = max(trust_seconds, writecount.VERIFY_SECONDS)
        self._counted: tuple[int, Version, float] | None = None  # (started, version, read at)
        if url.get_backend_name() == "sqlite":
            self.sqlite_path = url.database
            self.writes = writecount.for_url(url)
        else:
            self.pg_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.connect_timeout = max(1, min(connect_timeout, 2))
        self._failed_at = 0.0
        self._idle: list[Any] = []  # last in, first out: the warmest connection is reused
        self._pool_lock = threading.Lock()
        self._pool_generation = 0  # bumped by close(): connections out at the time are dropped

    @staticmethod
    def usable(database_url: str) -> bool:
        """False for databases another connection cannot see (SQLite in memory)."""
        url = make_url(database_url)
        if url.get_backend_name() == "sqlite":
            memory = url.database in (None, "", ":memory:") or "mode=memory" in str(url)
            return not memory
        return url.get_backend_name() == "postgresql"

    def _connect(self) -> Any:
        if self.sqlite_path is not None:
            return sqlite3.connect(self.sqlite_path, isolation_level=None,
                                   check_same_thread=False, timeout=1)
        import psycopg

        # A dead peer is noticed in seconds, not at the kernel's default of hours, and a read
        # stuck behind a lock gives up: either way the request takes the full path. (SET, not
        # the `options` parameter, which would replace options given in DATABASE_URL.)
        connection = psycopg.connect(self.pg_url, autocommit=True,
                                     connect_timeout=self.connect_timeout, keepalives=1,
                                     keepalives_idle=10, keepalives_interval=3,
                                     keepalives_count=3, tcp_user_timeout=5000)
        try:
            connection.execute("SET statement_timeout = 2000")
        except Exception:
            connection.close()
            raise
        return connection

    def read(self) -> Version | None:
        if self.writes is not None:
            return self._read_counted(self.writes)
        if self.trust_seconds > 0:
            trusted = self.peek()
            if trusted is not None:
                return trusted
            generation, read_at = self._generation, time.monotonic()
            value = self._read()
            with self._trust_lock:
                if value is not None and generation == self._generation:  # no write meanwhile
                    self._trusted = (value, read_at)
            return value
        return self._read()

    def peek(self) -> Version | None:
        """The version :meth:`read` would give, if it can be known without touching any
        database or waiting on anything (SQLite's shared counters show no write since it was
        last read, or the trust window holds); None otherwise. For the event loop
        (:mod:`api.edge.asgi`), which must not block."""
        if self.writes is not None:
            return self._still_counted(self.writes)
        trusted = self._trusted
        if (self.trust_seconds > 0 and trusted is not None
                and time.monotonic() - trusted[1] < self.trust_seconds):
            return trusted[0]
        return None

    def _still_counted(self, writes: writecount.WriteCounter) -> Version | None:
        """SQLite: the version last read, if the shared write counters show that no write
        transaction ended since and it is at most ``verify_seconds`` old."""
        started, finished = writes.read()
        known = self._counted
        if (known is not None and started == finished == known[0]
                and time.monotonic() - known[2] < self.verify_seconds):
            return known[1]
        return None

    def _read_counted(self, writes: writecount.WriteCounter) -> Version | None:
        """SQLite: the version last read, while the shared write counters say that no write
        transaction ended since (and at most ``verify_seconds`` after it was read)."""
        known = self._still_counted(writes)
        if known is not None:
            return known
        now = time.monotonic()
        writes.refresh()  # the file deleted or replaced: count in the one at the path again
        started, finished = writes.read()
        if started != finished:
            writes.settle(started, finished, now)
        value = self._read()  # the counters were read before: a write meanwhile changes them
        if value is not None and started == finished:
            self._counted = (started, value, now)
        return value

    def forget(self) -> None:
        """A write went through this process: ask the database next time."""
        with self._trust_lock:
            self._generation += 1
            self._trusted = None

    def _read(self) -> Version | None:
        with self._pool_lock:
            connection = self._idle.pop() if self._idle else None
            generation = self._pool_generation
        # A kept connection may have died meanwhile (database restarted): one new try.
        for reused in ((True, False) if connection is not None else (False,)):
            if not reused:
                if time.monotonic() - self._failed_at < self.RETRY_AFTER_FAILURE:
                    return None
                try:
                    connection = self._connect()
                except Exception:
                    self._failed_at = time.monotonic()
                    return None
            try:
                row = connection.execute(self.QUERY).fetchone()
            except Exception:
                _close(connection)
                if not reused:
                    self._failed_at = time.monotonic()
                continue
            with self._pool_lock:
                if generation == self._pool_generation and len(self._idle) < self.MAX_IDLE:
                    self._idle.append(connection)
                    connection = None
            if connection is not None:
                _close(connection)
            return None if row is None else (str(row[0]), int(row[1]))
        return None

    def open_connections(self) -> int:
        """How many idle connections are kept (for tests and diagnostics)."""
        return len(self._idle)

    def close(self) -> None:
        """Close the kept connections; those in use are closed when they come back."""
        with self._pool_lock:
            idle, self._idle = self._idle, []
            self._pool_generation += 1
        for connection in idle:
            _close(connection)


def _close(connection: Any) -> None:
    try:
        connection.close()
    except Exception:  # closing is best effort
        pass

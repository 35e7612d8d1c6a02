"""Rate-limit counters in this process's memory, without a thread per request.

``limits``' ``MemoryStorage`` expires counters with a timer thread that lives 10 ms, so under
steady traffic it starts a thread for nearly every request: 16% of an uncached read's time in a
profile of the served app. Fixed-window counters need no timer (``get`` already drops an
expired counter when it is read), so this storage counts the same way and sweeps expired
counters inline, at most once a second. It is a ``MemoryStorage`` (the edge asks whether
limits are counted in memory) registered as ``sweptmemory://``.
"""

from __future__ import annotations

import threading
import time

from limits.storage import MemoryStorage

#: Seconds between two sweeps of expired counters.
SWEEP_SECONDS = 1.0


class SweptMemoryStorage(MemoryStorage):
    """``MemoryStorage`` whose fixed-window counters expire on read and in an inline sweep."""

    STORAGE_SCHEME = ["sweptmemory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False,
                 **options: str) -> None:
        super().__init__(uri, wrap_exceptions, **options)
        self._next_sweep = 0.0
        self._sweep_lock = threading.Lock()

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Count ``amount`` against ``key``; a new window expires ``expiry`` seconds on."""
        self.get(key)  # an expired counter starts again
        self._sweep()
        with self.locks[key]:
            self.storage[key] += amount
            if self.storage[key] == amount:
                self.expirations[key] = time.time() + expiry
        return self.storage.get(key, 0)

    def _sweep(self) -> None:
        """Drop expired counters, at most once every :data:`SWEEP_SECONDS`, on this thread."""
        now = time.monotonic()
        if now < self._next_sweep or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + SWEEP_SECONDS
            wall = time.time()
            for key in [k for k, at in list(self.expirations.items()) if at <= wall]:
                with self.locks[key]:  # a request may have started a new window meanwhile
                    if self.expirations.get(key, wall + 1) <= wall:
                        self.storage.pop(key, None)
                        self.expirations.pop(key, None)
        finally:
            self._sweep_lock.release()

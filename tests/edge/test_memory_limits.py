"""Rate-limit counters in memory (``sweptmemory://``): counted like limits' MemoryStorage, with
expired counters dropped inline instead of by a timer thread per request."""

from __future__ import annotations

import threading
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from api.edge import memory_limits
from api.edge.memory_limits import SweptMemoryStorage


def test_counts_a_fixed_window_and_starts_no_thread_per_request(monkeypatch):
    storage = storage_from_string("sweptmemory://")
    assert isinstance(storage, SweptMemoryStorage)
    limiter = FixedWindowRateLimiter(storage)
    item = parse("3/second")
    assert [limiter.hit(item, "ip:1") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit(item, "ip:2")  # another client has its own counter
    started = []
    monkeypatch.setattr(threading.Thread, "start", lambda self: started.append(self))
    for _ in range(5):  # requests further apart than limits' 10 ms timer lives
        storage.incr("steady", 60)
        time.sleep(0.015)
    assert started == []  # (limits' MemoryStorage starts a timer thread for each)
    time.sleep(1.0)
    assert limiter.hit(item, "ip:1")  # a new window


def test_expired_counters_are_swept(monkeypatch):
    monkeypatch.setattr(memory_limits, "SWEEP_SECONDS", 0.0)
    storage = SweptMemoryStorage()
    for key in ("a", "b", "c"):
        storage.incr(key, 0.01)
    time.sleep(0.02)
    storage.incr("d", 60)
    assert set(storage.storage) == {"d"} and set(storage.expirations) == {"d"}

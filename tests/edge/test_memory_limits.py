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
    threads = threading.active_count()
    assert [limiter.hit(item, "ip:1") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit(item, "ip:2")  # another client has its own counter
    for _ in range(200):
        storage.incr("busy", 60)
    assert threading.active_count() <= threads  # no timer thread was started per request
    time.sleep(1.05)
    assert limiter.hit(item, "ip:1")  # a new window


def test_expired_counters_are_swept(monkeypatch):
    monkeypatch.setattr(memory_limits, "SWEEP_SECONDS", 0.0)
    storage = SweptMemoryStorage()
    for key in ("a", "b", "c"):
        storage.incr(key, 0.01)
    time.sleep(0.02)
    storage.incr("d", 60)
    assert set(storage.storage) == {"d"} and set(storage.expirations) == {"d"}

"""The accelerator: one switch for every in-process cache and for the event-loop fast path.

``HTCONTENT_ACCEL=off`` (read when the process starts) turns all of them off, and the API
answers exactly as before, only slower: every request runs the full path, on a thread, against
the tables. CI runs the read, write, sync and SDK tests in both modes. What the switch covers:

- the response cache and the event loop's answers from it (:mod:`api.accel.response_cache`,
  :mod:`api.edge.asgi`), with its pool of data-version connections;
- per-data-version memos of list totals and search rankings
  (:class:`api.accel.memo.VersionMemo`);
- list bitsets, search maps and search postings, built in the background (:mod:`api.accel.facets`,
  :mod:`api.accel.postings`).

The bounded caches are cachetools' ``LRUCache`` (:class:`SizedCache`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import LRUCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

OFF_VALUES = ("off", "0", "false", "no")
#: Whether the accelerator is on in this process (``HTCONTENT_ACCEL``, default on).
ENABLED: bool = os.environ.get("HTCONTENT_ACCEL", "on").strip().lower() not in OFF_VALUES


def enabled() -> bool:
    """Whether caches and the fast path may be used."""
    return ENABLED


class SizedCache(Generic[K, V]):
    """A least-recently-used map bounded by the total cost of what it keeps (bytes, roughly),
    as ``cost(key, value)`` counts it; safe across threads. A value costing more than the
    bound on its own is not kept. With the accelerator off it keeps nothing."""

    def __init__(self, max_cost: int, cost: Callable[[K, V], int]) -> None:
        self.max_cost = max_cost
        self._cost = cost
        self._cache: LRUCache[K, tuple[V, int]] = LRUCache(max_cost, getsizeof=_second)
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value kept for ``key`` (marked as just used), or None."""
        with self._lock:
            pair = self._cache.get(key)
        return None if pair is None else pair[0]

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` for ``key``, dropping the least recently used beyond the bound."""
        if not ENABLED:
            return
        cost = self._cost(key, value)
        if cost > self.max_cost:
            return
        with self._lock:
            self._cache[key] = (value, cost)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    @property
    def cost(self) -> int:
        """The total cost of what is kept."""
        return int(self._cache.currsize)

    def __len__(self) -> int:
        return len(self._cache)


def _second(pair: tuple[object, int]) -> int:
    return pair[1]

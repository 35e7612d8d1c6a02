"""A least-recently-used map bounded by the total cost of what it keeps (bytes, roughly),
safe across threads: the response cache (:mod:`api.fastpath`) and the rendered list items
(:mod:`api.items`) keep their memory within a bound with it."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SizedLRU(Generic[K, V]):
    """At most ``max_cost`` in all, as ``cost(key, value)`` counts it; the least recently
    used go first. A value costing more than the bound on its own is not kept."""

    def __init__(self, max_cost: int, cost: Callable[[K, V], int]) -> None:
        self.max_cost = max_cost
        self._cost = cost
        self._items: OrderedDict[K, V] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value kept for ``key`` (marked as just used), or None. A miss takes no lock."""
        value = self._items.get(key)
        if value is not None:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
        return value

    def get_many(self, keys: Iterable[K]) -> dict[K, V]:
        """The values kept for any of ``keys`` (each marked as just used), under one lock."""
        found: dict[K, V] = {}
        with self._lock:
            for key in keys:
                value = self._items.get(key)
                if value is not None:
                    self._items.move_to_end(key)
                    found[key] = value
        return found

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` for ``key``, dropping the least recently used beyond the bound."""
        cost = self._cost(key, value)
        if cost > self.max_cost:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._total -= self._cost(key, old)
            self._items[key] = value
            self._total += cost
            while self._total > self.max_cost:
                evicted_key, evicted = self._items.popitem(last=False)
                self._total -= self._cost(evicted_key, evicted)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._total = 0

    def __len__(self) -> int:
        return len(self._items)

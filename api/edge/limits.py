"""Rate limits: fixed windows per client and route, counted in memory or in Redis.

Limits come from configuration: ``RATE_LIMIT_ANON`` for a client without a key (counted per IP
address), ``RATE_LIMIT_KEY`` for a key (counted per key name), each one or more limits such as
``100/second;300/minute``, counted per route. Failed authentications are counted per IP address
on their own (``RATE_LIMIT_AUTH_FAILURES``), so keys cannot be guessed quickly. The counters
live in Redis when ``REDIS_URL`` is set (shared by every process and instance), in this
process's memory otherwise (:mod:`api.edge.memory_limits`). When Redis cannot be reached, the
counting goes on in memory (per process) and Redis is tried again every few seconds: reads never
fail for want of a counter.

The windows and keys are those of the ``limits`` library, which counts them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string

from api.edge.memory_limits import SweptMemoryStorage

log = logging.getLogger("api")
#: Seconds between two tries of an unreachable Redis.
RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class Verdict:
    """What one request's count says: allowed or not, under which limit, and the headers."""

    allowed: bool
    item: RateLimitItem
    remaining: int
    reset: float  # when the window ends (seconds since the epoch)

    @property
    def reset_at(self) -> int:
        """The window's end as the headers give it (whole seconds, rounded up)."""
        return int(self.reset + 1)

    def headers(self) -> list[tuple[str, str]]:
        """``X-RateLimit-*`` and the IETF ``RateLimit-*`` fields."""
        amount, remaining = str(self.item.amount), str(self.remaining)
        return [("X-RateLimit-Limit", amount), ("X-RateLimit-Remaining", remaining),
                ("X-RateLimit-Reset", str(self.reset_at))]

    def ietf_headers(self) -> list[tuple[str, str]]:
        return [("RateLimit-Limit", str(self.item.amount)),
                ("RateLimit-Remaining", str(self.remaining)),
                ("RateLimit-Reset", str(max(0, self.reset_at - int(time.time()))))]

    def retry_after(self) -> int:
        """Whole seconds until the window ends."""
        return int(self.reset_at - time.time())


class RateLimits:
    """The limits of one app, and where they are counted."""

    def __init__(self, config: dict[str, Any]) -> None:
        def ordered(text: str) -> tuple[RateLimitItem, ...]:  # shortest window first
            return tuple(sorted(parse_many(text), key=lambda item: item.get_expiry()))

        self.anonymous = ordered(config["RATE_LIMIT_ANON"])
        self.keyed = ordered(config["RATE_LIMIT_KEY"])
        self.auth_failures = parse(config["RATE_LIMIT_AUTH_FAILURES"])
        self.prefix = config.get("RATELIMIT_KEY_PREFIX", "")
        self.storage: Storage = storage_from_string(config.get("REDIS_URL") or "sweptmemory://")
        self.fallback = SweptMemoryStorage()
        self._down_until = 0.0
        self._keys: dict[tuple[RateLimitItem, str, str], str] = {}

    @property
    def local(self) -> bool:
        """Counted in this process's memory: a count never waits for the network."""
        return isinstance(self.storage, MemoryStorage)

    def hit(self, identity: str, scope: str, keyed: bool) -> Verdict:
        """Count one request of ``identity`` (``ip:...`` or ``key:...``) on ``scope`` (a route)
        against each of its limits, shortest window first, stopping at the first one exceeded."""
        first = None
        for item in self.keyed if keyed else self.anonymous:
            verdict = self._count(item, identity, scope)
            if not verdict.allowed:
                return verdict
            first = first or verdict  # the headers report the shortest window
        if first is None:
            raise ValueError("no rate limit is configured")
        return first

    def failed_authentication(self, client: str) -> int | None:
        """Count a failed authentication of ``client``: the seconds to wait when there were
        too many, else None."""
        verdict = self._count(self.auth_failures, "auth-failures", client)
        if verdict.allowed:
            return None
        return max(1, int(verdict.reset - time.time()))

    def _count(self, item: RateLimitItem, identity: str, scope: str) -> Verdict:
        key = self._key(item, identity, scope)
        storage = self._storage()
        try:
            count = storage.incr(key, item.get_expiry())
            reset = storage.get_expiry(key)
        except Exception as exc:  # Redis went away: count in memory until it is back
            if storage is self.storage:
                log.warning("rate-limit storage unreachable (%s); counting in this process's "
                            "memory, trying again in %d s", type(exc).__name__, RETRY_SECONDS)
            self._down_until = time.monotonic() + RETRY_SECONDS
            count = self.fallback.incr(key, item.get_expiry())
            reset = self.fallback.get_expiry(key)
        return Verdict(count <= item.amount, item, max(0, item.amount - count), reset)

    def _storage(self) -> Storage:
        if self._down_until and time.monotonic() < self._down_until:
            return self.fallback
        return self.storage

    def _key(self, item: RateLimitItem, identity: str, scope: str) -> str:
        found = self._keys.get((item, identity, scope))
        if found is None:
            parts = (self.prefix, identity, scope) if self.prefix else (identity, scope)
            found = item.key_for(*parts)
            if len(self._keys) > 10_000:  # bounded: one per client and route seen lately
                self._keys.clear()
            self._keys[(item, identity, scope)] = found
        return found

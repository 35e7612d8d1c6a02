"""Filtered lists from memory: one bitset per filter code, per data version.

A filtered list (``?category=financial&setting=traffic_stop``) needs a total and a page in id
order. In SQL both cost time in proportion to the matching records (tens of milliseconds at
100,000 indicators). Here, for one record type and one set of visibilities, the visible
published records are numbered in id order, and each filter code (``category=financial``) is a
Python ``int`` used as a bitset of those numbers. A total is then a few big-integer ``&``/``|``
and a ``bit_count()``; a page is the next set bits after the cursor's number. At 100,000
records a bitset is 12.5 KB.

An index is built from the database once per data version (:func:`api.store.data_version`),
so it is never older than the version it is filed under, and a write anywhere makes the next
request build a new one. While one thread builds, others use SQL rather than wait.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Record, RecordTerm

#: Bits looked at per step when walking a bitset for a page.
WINDOW = 4096


@dataclass(frozen=True)
class FacetIndex:
    """Visible records of one type in id order, and a bitset of positions per filter code."""

    ids: list[str]
    positions: dict[str, int]
    bits: dict[tuple[str, str], int]

    def matching(self, filters: list[tuple[str, tuple[str, ...]]]) -> int:
        """The bitset of records matching every filter (any of its codes)."""
        combined = (1 << len(self.ids)) - 1
        for name, values in filters:
            either = 0
            for value in values:
                either |= self.bits.get((name, value), 0)
            combined &= either
            if not combined:
                break
        return combined

    def page(self, matching: int, after: int, limit: int) -> list[str]:
        """Up to ``limit`` ids of ``matching`` records at positions after ``after`` (-1: from
        the start)."""
        found: list[str] = []
        start = after + 1
        rest = matching >> start
        mask = (1 << WINDOW) - 1
        while rest and len(found) < limit:
            window = rest & mask
            while window and len(found) < limit:
                lowest = window & -window
                found.append(self.ids[start + lowest.bit_length() - 1])
                window ^= lowest
            rest >>= WINDOW
            start += WINDOW
        return found


def build(session: Session, record_type: str, visible: Any) -> FacetIndex:
    """Read the index from the database: two queries, both served from indexes."""
    ids = list(session.scalars(select(Record.id).where(Record.type == record_type, visible)
                               .order_by(Record.id)))
    positions = {record_id: number for number, record_id in enumerate(ids)}
    buffers: dict[tuple[str, str], bytearray] = {}
    size = len(ids) // 8 + 1
    terms = (select(RecordTerm.name, RecordTerm.value, RecordTerm.record_id)
             .join(Record, Record.id == RecordTerm.record_id)
             .where(Record.type == record_type, visible))
    for name, value, record_id in session.execute(terms):
        number = positions[record_id]
        buffer = buffers.get((name, value))
        if buffer is None:
            buffer = buffers[(name, value)] = bytearray(size)
        buffer[number >> 3] |= 1 << (number & 7)
    bits = {term: int.from_bytes(buffer, "little") for term, buffer in buffers.items()}
    return FacetIndex(ids, positions, bits)


class FacetIndexes:
    """The indexes of one process, by database, data version, type and visibilities."""

    MAX_KEPT = 16

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[Any, ...], FacetIndex] = OrderedDict()
        self._lock = threading.Lock()
        self._building: set[tuple[Any, ...]] = set()

    def get(self, session: Session, version: Any, record_type: str,
            visibilities: tuple[str, ...], visible: Any) -> FacetIndex | None:
        """The index for this version, built if need be; None while another thread builds
        it (the caller answers from SQL meanwhile)."""
        key = (str(session.get_bind().url), version, record_type, visibilities)
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found
            if key in self._building:
                return None
            self._building.add(key)
            # Indexes of older versions of this database will not be asked for again.
            for stale in [k for k in self._kept if k[0] == key[0] and k[1] != version]:
                del self._kept[stale]
        try:
            index = build(session, record_type, visible)
        finally:
            with self._lock:
                self._building.discard(key)
        with self._lock:
            self._kept[key] = index
            while len(self._kept) > self.MAX_KEPT:
                self._kept.popitem(last=False)
        return index


INDEXES = FacetIndexes()

"""Filtered lists from memory: one bitset per filter code, per data version.

A filtered list (``?category=financial&setting=traffic_stop``) needs a total and a page in id
order. In SQL both cost time in proportion to the matching records (tens of milliseconds at
100,000 indicators). Here, for one record type and one set of visibilities, the visible
published records are numbered in id order, and each filter code (``category=financial``) is a
Python ``int`` used as a bitset of those numbers. A total is then a few big-integer ``&``/``|``
and a ``bit_count()``; a page is the next set bits after the cursor's number. At 100,000
records a bitset is 12.5 KB.

An index is built from the database once per data version (:func:`api.storage.store.data_version`),
so it is never older than the version it is filed under, and a write anywhere makes the next
request build a new one, in the background: until it is there, SQL answers.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
from sqlalchemy import URL, Engine, create_engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from api import accel
from api.storage.models import Record, RecordTerm, SearchDoc
from schemas.params import FILTERS

LOG = logging.getLogger(__name__)
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
    """Read the index from the database: the visible ids in order, then each filter code's
    records as one string (aggregated by the database from its (name, value, record_id)
    index, so no row per term crosses into Python)."""
    ids = list(session.scalars(select(Record.id).where(Record.type == record_type, visible)
                               .order_by(Record.id)))
    positions = {record_id: number for number, record_id in enumerate(ids)}
    size = len(ids) // 8 + 1
    names = sorted({flt.param for flt in FILTERS[record_type]})
    terms = (select(RecordTerm.name, RecordTerm.value,
                    func.aggregate_strings(RecordTerm.record_id, " "))
             .where(RecordTerm.name.in_(names)).group_by(RecordTerm.name, RecordTerm.value))
    bits: dict[tuple[str, str], int] = {}
    for name, value, record_ids in session.execute(terms):
        buffer = bytearray(size)
        for record_id in record_ids.split(" "):
            number = positions.get(record_id)  # None: another type, hidden or not published
            if number is not None:
                buffer[number >> 3] |= 1 << (number & 7)
        bits[(name, value)] = int.from_bytes(buffer, "little")
    return FacetIndex(ids, positions, bits)


@dataclass(frozen=True)
class SearchMap:
    """For search on SQLite: which visible record each search document belongs to, so a
    ranking needs the full-text index alone (no join per match)."""

    records: np.ndarray  # search_docs.doc_id -> number of its record in ``ids``, -1 if not visible
    ids: list[str]
    kinds: np.ndarray  # record number -> position of its type in ``type_names``
    type_names: list[str]
    order: np.ndarray  # record number -> position of its id in sorted(ids)
    per_record: int  # the most documents one record has (one per language)

    @classmethod
    def of(cls, records: np.ndarray, ids: list[str], types: list[str]) -> SearchMap:
        """The map of ``records`` (document id -> record number, -1: not visible) for the
        records ``ids`` of ``types`` (one per record)."""
        type_names = sorted(set(types))
        order = np.empty(len(ids), dtype=np.int32)
        order[sorted(range(len(ids)), key=ids.__getitem__)] = np.arange(len(ids))
        kinds = np.array([type_names.index(kind) for kind in types], dtype=np.int32)
        mapped = records[records >= 0]
        per_record = int(np.bincount(mapped).max()) if len(mapped) else 1
        return cls(records, ids, kinds, type_names, order, per_record)

    def rank(self, documents: np.ndarray, ranks: np.ndarray, types: tuple[str, ...]) -> Ranking:
        """(record id, best rank) of every visible record among the documents (ids and
        ranks, lower is better), best first, then by id: what the SQL ranking gives."""
        inside = (documents >= 0) & (documents < len(self.records))
        numbers = self.records[documents[inside]]
        ranks = ranks[inside]
        keep = numbers >= 0
        if types:
            wanted = [code for code, name in enumerate(self.type_names) if name in types]
            keep &= np.isin(self.kinds[np.maximum(numbers, 0)], wanted)
        return Ranking(numbers[keep], ranks[keep], self)


class Ranking(Sequence[tuple[str, float]]):
    """Records best first, as (record id, rank) pairs, from the matching documents' records
    and ranks: a sequence sorted only as far as it is read (a page's worth, doubling), since
    a common word matches tens of thousands of records and a page shows ten. Its length is
    the number of records matched."""

    def __init__(self, numbers: np.ndarray, ranks: np.ndarray, mapped: SearchMap) -> None:
        self._numbers, self._ranks, self._mapped = numbers, ranks, mapped
        if mapped.per_record == 1:
            self._total = len(numbers)
        else:
            seen = np.zeros(len(mapped.ids), dtype=bool)
            seen[numbers] = True
            self._total = int(np.count_nonzero(seen))
        self._sorted: tuple[np.ndarray, np.ndarray] = (numbers[:0], ranks[:0])

    def __len__(self) -> int:
        return self._total

    def _first(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The best ``count`` (or more) records and their ranks, in order."""
        done = self._sorted
        if len(done[0]) >= min(count, self._total):
            return done
        count = max(count, 2 * len(done[0]), 16)
        numbers, ranks = self._numbers, self._ranks
        # The best ``count`` records have their best documents among the best ``count`` x
        # per_record documents (ties included): more records than that rank before any other.
        documents = count * self._mapped.per_record
        if documents < len(ranks):
            threshold = np.partition(ranks, documents - 1)[documents - 1]
            some = np.flatnonzero(ranks <= threshold)
            numbers, ranks = numbers[some], ranks[some]
        by_rank = np.lexsort((self._mapped.order[numbers], ranks))
        numbers, ranks = numbers[by_rank], ranks[by_rank]
        # A record's first document in that order is its best.
        _, first = np.unique(numbers, return_index=True)
        first.sort()
        done = self._sorted = (numbers[first][:count], ranks[first][:count])
        return done

    @overload
    def __getitem__(self, part: int) -> tuple[str, float]: ...

    @overload
    def __getitem__(self, part: slice) -> list[tuple[str, float]]: ...

    def __getitem__(self, part: int | slice) -> tuple[str, float] | list[tuple[str, float]]:
        ids = self._mapped.ids
        if isinstance(part, slice):
            start, stop, step = part.indices(self._total)
            numbers, ranks = self._first(stop if step > 0 else self._total)
            return [(ids[number], rank) for number, rank
                    in zip(numbers[part].tolist(), ranks[part].tolist(), strict=True)]
        index = part + self._total if part < 0 else part
        if not 0 <= index < self._total:
            raise IndexError(part)
        numbers, ranks = self._first(index + 1)
        return ids[int(numbers[index])], float(ranks[index])


def build_search_map(session: Session, visible: Any) -> SearchMap:
    """Read the map: one row per search document of a visible record."""
    rows = session.execute(select(SearchDoc.doc_id, Record.id, Record.type)
                           .join(Record, Record.id == SearchDoc.record_id).where(visible)).all()
    size = max((row[0] for row in rows), default=-1) + 1
    records = np.full(size, -1, dtype=np.int32)
    numbers: dict[str, int] = {}
    ids: list[str] = []
    types: list[str] = []
    for doc_id, record_id, record_type in rows:
        if doc_id < 0:  # not a rowid FTS5 gives: never matched
            continue
        number = numbers.get(record_id)
        if number is None:
            number = numbers[record_id] = len(ids)
            ids.append(record_id)
            types.append(record_type)
        records[doc_id] = number
    return SearchMap.of(records, ids, types)


class Indexes:
    """The in-memory indexes of one process, by database, data version, name (a record type's
    filters, or search) and visibilities.

    Indexes are built one at a time by one background thread, on a connection of its own
    (outside the request pool), so no request waits for one (0.5 s at 100,000 records) and
    builds never take connections requests need: until an index is there, SQL answers. Only
    the data version last asked for is built and kept; a queued build for an older one is
    dropped.
    """

    MAX_KEPT = 12
    RETRY_AFTER_FAILURE = 1.0

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Condition()
        self._queue: deque[tuple[tuple[Any, ...], Any, Callable[[Session], Any]]] = deque()
        self._queued: set[tuple[Any, ...]] = set()
        self._current: dict[str, Any] = {}  # database -> the version last asked for
        self._engines: dict[str, Engine] = {}
        self._worker: threading.Thread | None = None
        self._worker_pid = 0
        self._failed_at = 0.0

    def get(self, session: Session, version: Any, name: str, visibilities: tuple[str, ...],
            make: Callable[[Session], Any]) -> Any:
        """The index ``name`` for this data version and viewer, or None (SQL answers) while
        ``make(session)`` builds it; always None with the accelerator off."""
        if not accel.enabled():
            return None
        bind = session.get_bind()
        database = str(bind.url)
        key = (database, version, name, visibilities)
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                return found
            if not isinstance(bind, Engine) or not _shareable(bind):
                return None  # a session on one connection, or SQLite in memory: SQL answers
            if self._current.get(database) != version:
                self._current[database] = version
                for stale in [k for k in self._kept if k[0] == database and k[1] != version]:
                    del self._kept[stale]
            if (key in self._queued
                    or time.monotonic() - self._failed_at < self.RETRY_AFTER_FAILURE):
                return None
            self._queued.add(key)
            self._queue.append((key, bind.url, make))
            self._start_worker()
            self._lock.notify()
        return None

    def _start_worker(self) -> None:
        if (self._worker is None or not self._worker.is_alive()
                or self._worker_pid != os.getpid()):  # threads do not survive a fork
            self._worker_pid = os.getpid()
            self._worker = threading.Thread(target=self._work, daemon=True, name="indexes")
            self._worker.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._queue:
                    self._lock.wait()
                key, url, make = self._queue.popleft()
                wanted = self._current.get(key[0]) == key[1]
            index = self._build(key, url, make) if wanted else None
            with self._lock:
                self._queued.discard(key)
                # Kept only if its version is still the one asked for: memory holds one version.
                if index is not None and self._current.get(key[0]) == key[1]:
                    self._kept[key] = index
                    while len(self._kept) > self.MAX_KEPT:
                        self._kept.popitem(last=False)

    def _build(self, key: tuple[Any, ...], url: URL, make: Callable[[Session], Any]) -> Any:
        """One index, read on a connection of the builder's own. The version in ``key`` was
        read before the build starts, so the index is never older than it."""
        engine = self._engines.get(key[0])
        if engine is None:
            engine = self._engines[key[0]] = create_engine(url, poolclass=NullPool)
        try:
            with Session(engine) as session:
                return make(session)
        except Exception:  # the database went away: SQL answers, and a later request retries
            self._failed_at = time.monotonic()
            LOG.warning("could not build the index %s", key[2], exc_info=True)
            return None

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no build is queued or running (for tests); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._queued:
                    return True
            time.sleep(0.01)
        return False


def _shareable(engine: Engine) -> bool:
    """False for SQLite in memory, which another connection would see empty."""
    url = engine.url
    return url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")


INDEXES = Indexes()
#: Builds that take seconds at scale (the search postings, :mod:`api.accel.postings`), on a
#: thread of their own so that the bitsets and search maps after a write do not wait behind them.
SLOW_INDEXES = Indexes()


def wait_idle(timeout: float = 10.0) -> bool:
    """Block until no index is being built or queued (for tests); False on timeout."""
    return INDEXES.wait_idle(timeout) and SLOW_INDEXES.wait_idle(timeout)

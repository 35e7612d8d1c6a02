"""Search ranking from memory on SQLite: FTS5's bm25, bit for bit, from per-term postings.

FTS5 scores every document a query matches (about 2 µs each, reading its position lists and
its size), so a query matching tens of thousands of documents takes tens of milliseconds. Its
bm25 only needs, per query word and document, the word's weighted count in that document,
plus the document's size and the table's totals. Those are read once per data version from
the full-text index itself (``fts5vocab``; no second tokenizer, no second copy of the text) into
numpy arrays: per term, the documents containing it (sorted) and the weighted counts. A query
is then an intersection of sorted arrays and a few vector operations, computed in the order
``fts5_aux.c`` computes them, so the ranks are the same doubles FTS5 returns (the tests compare
them bit for bit).

Query words are tokenized by FTS5 itself (an in-memory table with the same tokenizer). A word
that is not exactly one token (``foo_bar``) makes :meth:`Postings.hits` answer None, and FTS5
answers the query. So does an index over :data:`MAX_BYTES`.
"""

from __future__ import annotations

import functools
import math
import re
import sqlite3
import threading
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.orm import Session

#: bm25's constants, as fts5_aux.c has them.
K1 = 1.2
B = 0.75
#: The most memory one process's postings may take; a larger index is not built (FTS5 ranks).
MAX_BYTES = 256 * 1024 * 1024
#: Instances (word occurrences) read per statement while building, to bound its memory.
CHUNK = 1_000_000
#: A query of words or others (a Spanish search with stems) unites each group's documents by
#: sorting when all its words together are in under 1/SORT_UNIONS of the documents; else with
#: a mask over every document.
SORT_UNIONS = 64
#: Words whose tokens are remembered per index.
MAX_WORDS = 100_000

_TOKENIZE = re.compile(r"tokenize\s*=\s*'((?:[^']|'')*)'", re.IGNORECASE)


class Tokenizer:
    """FTS5's own tokenizer ``spec`` for query words (an in-memory FTS5 table), its answers
    remembered: one per spec, shared by every data version's postings."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self._tokens: dict[str, str | None] = {}
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def token(self, word: str) -> str | None:
        """The one token FTS5 makes of ``word`` for a query, or None if it makes none or several."""
        with self._lock:
            if word in self._tokens:
                return self._tokens[word]
            if self._connection is None:
                connection = sqlite3.connect(":memory:", check_same_thread=False)
                quoted = self.spec.replace("'", "''")
                connection.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize='{quoted}')")
                connection.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
                self._connection = connection
            connection = self._connection
            connection.execute("INSERT INTO t(rowid, x) VALUES (1, ?)", (word,))
            tokens = connection.execute("SELECT term FROM v").fetchall()
            connection.execute("DELETE FROM t")
            if len(self._tokens) >= MAX_WORDS:
                self._tokens.clear()
            token = self._tokens[word] = tokens[0][0] if len(tokens) == 1 else None
            return token


@functools.cache
def tokenizer_for(spec: str) -> Tokenizer:
    """The :class:`Tokenizer` of ``spec`` (one per process)."""
    return Tokenizer(spec)


@dataclass(frozen=True, eq=False)
class Postings:
    """The postings of one FTS5 table at one data version, or (``usable`` False) the note that
    it is too large to hold."""

    usable: bool
    tokenizer: Tokenizer = field(default_factory=lambda: tokenizer_for("unicode61"))
    terms: dict[str, int] = field(default_factory=dict)  # term -> its number
    bounds: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    documents: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    norms: np.ndarray = field(default_factory=lambda: np.zeros(0))  # rowid -> k1 * (1-b+b*D/avgdl)
    rows: int = 0

    def hits(self, words: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """(rowids, bm25) of the documents containing every one of ``words`` (each one FTS5
        phrase), in rowid order: what ``SELECT rowid, bm25(...) ... MATCH`` returns. None when
        FTS5 must answer (a word is not one token, or this index is not usable)."""
        return self.hits_any([[word] for word in words])

    def hits_any(self, groups: list[list[str]]) -> tuple[np.ndarray, np.ndarray] | None:
        """Like :meth:`hits` for ``("a" OR "b") AND ("c")``: the documents containing a word of
        every group, ranked over every word (phrase) in order, as FTS5 ranks such a query (a
        phrase a document lacks adds nothing)."""
        if not self.usable or not groups or not all(groups):
            return None
        phrases: list[tuple[np.ndarray, np.ndarray]] = []
        members_of: list[list[np.ndarray]] = []
        for group in groups:
            members = []
            for word in group:
                token = self.token(word)
                if token is None:
                    return None
                number = self.terms.get(token)
                if number is None:
                    listed = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))
                else:
                    start, end = int(self.bounds[number]), int(self.bounds[number + 1])
                    listed = (self.documents[start:end], self.counts[start:end])
                phrases.append(listed)
                members.append(listed[0])
            members_of.append(members)
        if all(len(members) == 1 for members in members_of):  # sorted lists: intersect
            found, frequencies = _intersect(phrases)
        elif sum(len(documents) for documents, _ in phrases) * SORT_UNIONS < len(self.norms):
            # a word or another, few documents: each group's union (by sorting), intersected
            found = np.unique(np.concatenate(members_of[0]))
            for members in members_of[1:]:
                found = found[_present(np.unique(np.concatenate(members)), found)]
            frequencies = [_frequency(documents, counts, found) for documents, counts in phrases]
        else:  # a word or another, many documents: a mask over every document
            mask = np.ones(len(self.norms), dtype=bool)
            for members in members_of:
                either = np.zeros(len(self.norms), dtype=bool)
                for documents in members:
                    either[documents] = True
                mask &= either
            found = np.flatnonzero(mask).astype(np.int32)
            frequencies = []
            for documents, counts in phrases:  # a count per document, read at each found
                dense = np.zeros(len(self.norms), dtype=np.float32)
                dense[documents] = counts
                frequencies.append(dense[found].astype(np.float64))
        norms = self.norms[found]
        score = np.zeros(len(found))
        for (documents, _), frequency in zip(phrases, frequencies, strict=True):
            # phrase by phrase, as fts5Bm25Function adds them
            idf = math.log((self.rows - len(documents) + 0.5) / (len(documents) + 0.5))
            if idf <= 0.0:
                idf = 1e-6
            score += idf * ((frequency * (K1 + 1.0)) / (frequency + norms))
        return found.astype(np.int64), -1.0 * score

    def token(self, word: str) -> str | None:
        """The one token FTS5 makes of ``word`` for a query, or None if it makes none or several."""
        return self.tokenizer.token(word)



def _intersect(phrases: list[tuple[np.ndarray, np.ndarray]]
               ) -> tuple[np.ndarray, list[np.ndarray]]:
    """The documents in every one of ``phrases`` (each sorted documents and their counts),
    and each phrase's count in each of them: from the shortest list, keeping what every other
    list also has (each list is searched once)."""
    shortest = min(range(len(phrases)), key=lambda number: len(phrases[number][0]))
    found = phrases[shortest][0]
    positions: list[np.ndarray | None] = [None] * len(phrases)
    positions[shortest] = np.arange(len(found))
    for number, (documents, _) in enumerate(phrases):
        if number == shortest:
            continue
        if len(documents):
            at = np.minimum(np.searchsorted(documents, found), len(documents) - 1)
            present = documents[at] == found
        else:
            at, present = np.zeros(len(found), np.int64), np.zeros(len(found), bool)
        found = found[present]
        positions = [None if earlier is None else earlier[present] for earlier in positions]
        positions[number] = at[present]
    return found, [counts[at].astype(np.float64) for (_, counts), at
                   in zip(phrases, positions, strict=True) if at is not None]


def _present(documents: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Which of ``found`` (sorted) are in ``documents`` (sorted), as a mask."""
    if not len(documents):
        return np.zeros(len(found), dtype=bool)
    at = np.minimum(np.searchsorted(documents, found), len(documents) - 1)
    return documents[at] == found  # type: ignore[no-any-return]


def _frequency(documents: np.ndarray, counts: np.ndarray, found: np.ndarray) -> np.ndarray:
    """The counts of ``documents`` (sorted) at ``found`` (sorted), 0 where absent."""
    if not len(documents) or not len(found):
        return np.zeros(len(found))
    at = np.minimum(np.searchsorted(documents, found), len(documents) - 1)
    return np.where(documents[at] == found, counts[at], 0).astype(np.float64)


def build(session: Session, table: str, weights: tuple[float, ...]) -> Postings:
    """Read the postings of the FTS5 ``table`` (columns weighted by ``weights``) in one read
    transaction, so sizes, totals and postings are of one snapshot."""
    connection = session.connection().connection.driver_connection
    (sql,) = connection.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    declared = _TOKENIZE.search(sql)
    spec = declared.group(1).replace("''", "'") if declared else "unicode61"
    for kind in ("row", "instance"):
        connection.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{table}_{kind}s"
                           f" USING fts5vocab(main, {table}, '{kind}')")
    names = [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
    code = "CASE col " + " ".join(f"WHEN '{name}' THEN {number}"
                                  for number, name in enumerate(names)) + " END"
    weight = np.array([weights[n] if n < len(weights) else 1.0 for n in range(len(names))])
    if not np.array_equal(weight, np.round(weight)):
        # FTS5 adds a document's weights one by one; whole numbers add up the same in any order.
        return Postings(usable=False)
    began = not connection.in_transaction
    if began:
        connection.execute("BEGIN")
    try:
        vocabulary = connection.execute(f"SELECT term, cnt FROM temp.{table}_rows").fetchall()
        (averages,) = connection.execute(f"SELECT block FROM {table}_data WHERE id = 1").fetchone()
        lowest, last = connection.execute(
            f"SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM {table}_docsize").fetchone()
        instances = np.array([count for _, count in vocabulary], dtype=np.int64)
        # Postings are at most as many as instances; a norm per rowid up to the last.
        if int(instances.sum()) * 8 + (last + 1) * 8 > MAX_BYTES or lowest < 0:
            return Postings(usable=False)
        sizes = np.zeros(last + 1, dtype=np.int64)
        documents: list[np.ndarray] = []
        counts: list[np.ndarray] = []
        per_term: list[np.ndarray] = []
        first = 0
        ends = np.cumsum(instances)
        while first < len(vocabulary):
            # Terms [first, after) hold at most CHUNK instances (or are one term).
            after = max(first + 1, int(np.searchsorted(ends, (ends[first - 1] if first else 0)
                                                       + CHUNK, side="right")))
            (text,) = connection.execute(
                f"SELECT group_concat(doc * {len(names)} + {code}) FROM temp.{table}_instances"
                " WHERE term >= ? AND term <= ?",
                (vocabulary[first][0], vocabulary[after - 1][0])).fetchone()
            codes = np.fromstring(text or "", dtype=np.int64, sep=",")
            rowids = codes // len(names)
            sizes += np.bincount(rowids, minlength=last + 1)[:last + 1]
            chunk_documents, chunk_counts, chunk_lengths = _chunk(
                rowids, weight[codes % len(names)], instances[first:after])
            documents.append(chunk_documents)
            counts.append(chunk_counts)
            per_term.append(chunk_lengths)
            first = after
    finally:
        if began:
            connection.execute("COMMIT")
    rows = tokens = 0
    if averages:  # an FTS5 table never written to has an empty averages record
        rows, at = _varint(averages, 0)
        for _ in names:
            size, at = _varint(averages, at)
            tokens += size
    average = float(tokens) / float(rows) if tokens else 1.0  # no tokens: nothing matches
    # Each instance is a token (detail=full), so a document's size is its instance count.
    norms = K1 * (1 - B + B * sizes.astype(np.float64) / average)
    lengths = np.concatenate(per_term) if per_term else np.zeros(0, dtype=np.int64)
    weighted = np.concatenate(counts) if counts else np.zeros(0)
    if len(weighted) and weighted.max() >= 2 ** 24:  # not exact as float32
        return Postings(usable=False)
    return Postings(
        usable=True, tokenizer=tokenizer_for(spec),
        terms={term: number for number, (term, _) in enumerate(vocabulary)},
        bounds=np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
        documents=np.concatenate(documents) if documents else np.zeros(0, dtype=np.int32),
        counts=weighted.astype(np.float32),
        norms=norms, rows=rows)


def _chunk(rowids: np.ndarray, weights: np.ndarray,
           instances: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The postings of a run of terms from their instances (the rowid and column weight of
    each, by term, document, column and offset; ``instances`` per term): documents, weighted
    counts, and postings per term."""
    if len(rowids) != int(instances.sum()):
        raise RuntimeError("the full-text index changed while it was read")
    # A posting starts where the term or the document changes.
    starts = np.ones(len(rowids), dtype=bool)
    starts[1:] = rowids[1:] != rowids[:-1]
    term_starts = np.concatenate(([0], np.cumsum(instances)[:-1])).astype(np.int64)
    starts[term_starts[1:]] = True
    where = np.flatnonzero(starts)
    counts = np.add.reduceat(weights, where) if len(where) else np.zeros(0)
    per_term = np.diff(np.append(np.searchsorted(where, term_starts), len(where)))
    return rowids[where].astype(np.int32), counts, per_term


def _varint(blob: bytes, at: int) -> tuple[int, int]:
    """SQLite's big-endian varint (as FTS5 writes its averages record) at ``at``."""
    value = 0
    for _ in range(9):
        byte = blob[at]
        at += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            break
    return value, at

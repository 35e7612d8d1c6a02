"""Full-text search: FTS5 on SQLite (ranked in memory by :mod:`api.accel.postings` once built,
Spanish stems by :mod:`api.storage.stemming`), ``tsvector`` on PostgreSQL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import (
    Select,
    and_,
    bindparam,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.orm import Session

from api.accel import facets, memo, postings
from api.storage import stemming
from api.storage.models import (
    Record,
    SearchDoc,
)
from api.storage.store import (
    WRITING,
    CursorError,
    Viewer,
    _visible_to,
    data_version,
    visible,
)
from schemas.fields import LANGUAGES
from schemas.params import SEARCH_CURSOR_PATTERN

_WORD = re.compile(r"\w+", re.UNICODE)


def _terms(q: str) -> list[str]:
    return _WORD.findall(q.lower())[:16]


def _fts_hits(session: Session, q: str, spanish: bool = False) -> Any:
    """A subquery of (record_id, rank) per matching search document, lower rank = better;
    None when ``q`` has no words to look for."""
    if session.get_bind().dialect.name == "postgresql":
        query = (func.plainto_tsquery(literal_column("'english'::regconfig"), q)
                 .op("||")(func.plainto_tsquery(literal_column("'spanish'::regconfig"), q)))
        tsv = literal_column("search_docs.tsv")
        return (select(SearchDoc.record_id.label("record_id"),
                       (-func.ts_rank(tsv, query)).label("rank"))
                .where(tsv.op("@@")(query)).subquery())
    terms = _terms(q)
    if not terms:
        return None
    expression = _match_expression(terms, spanish)
    matches = (select(literal_column("rowid").label("doc_id"),
                      func.bm25(literal_column("search_fts"), *BM25_WEIGHTS).label("rank"))
               .select_from(text("search_fts"))
               .where(literal_column("search_fts").op("MATCH")(expression))
               .cte("fts_matches").prefix_with("MATERIALIZED", dialect="sqlite"))
    return (select(SearchDoc.record_id.label("record_id"), matches.c.rank)
            .join(matches, matches.c.doc_id == SearchDoc.doc_id).subquery())


def _match_expression(terms: list[str], spanish: bool = False) -> str:
    """An FTS5 query for documents containing every term (each quoted: no operators); with
    ``spanish``, a term or its Spanish stem (:mod:`api.storage.stemming`)."""
    out = []
    for group in _groups(terms, spanish):
        quoted = ['"' + word.replace('"', "") + '"' for word in group]
        out.append(f"({' OR '.join(quoted)})" if len(quoted) > 1 else quoted[0])
    return " AND ".join(out) if spanish else " ".join(out)


def _groups(terms: list[str], spanish: bool) -> list[list[str]]:
    """The words :func:`_match_expression` asks for, term by term: a term, or (``spanish``)
    a term and its Spanish stem."""
    out = []
    for term in terms:
        root = stemming.stem(term) if spanish else term
        out.append([term, root] if root != term else [term])
    return out


def _spanish(terms: list[str], lang: str) -> bool:
    """Whether a search in ``lang`` for ``terms`` asks for Spanish stems too (on SQLite)."""
    return lang == "es" and any(stemming.stem(term) != term for term in terms)

#: Search ranks by bm25 with the label weighted 10 and the body 1.
BM25_WEIGHTS = (10.0, 1.0)

FTS5_HITS = (f"SELECT rowid, bm25(search_fts, {BM25_WEIGHTS[0]}, {BM25_WEIGHTS[1]})"
             " FROM search_fts WHERE search_fts MATCH ?")


def fts5_hits(connection: Any, expression: str) -> tuple[np.ndarray, np.ndarray]:
    """(search document ids, bm25) of the documents FTS5 matches with ``expression``, on a
    DB-API connection to SQLite."""
    rows = connection.execute(FTS5_HITS, (expression,)).fetchall()
    return (np.fromiter((row[0] for row in rows), np.int64, len(rows)),
            np.fromiter((row[1] for row in rows), np.float64, len(rows)))


def matching_ids(session: Session, q: str) -> Select[Any] | None:
    hits = _fts_hits(session, q)
    return None if hits is None else select(hits.c.record_id)

SEARCH_CURSOR = re.compile(SEARCH_CURSOR_PATTERN)

_SEARCH_PAGE = (select(Record.id, Record.type, Record.version, SearchDoc.lang, SearchDoc.label,
                       SearchDoc.body)
                .outerjoin(SearchDoc, and_(SearchDoc.record_id == Record.id,
                                           SearchDoc.lang.in_(bindparam("langs", expanding=True))))
                .where(Record.id.in_(bindparam("ids", expanding=True)),
                       _visible_to(bindparam("visibilities", expanding=True))))


@dataclass
class Hit:
    """A record on a page of search results, with its label and text in the language asked
    for (else English; empty if it has neither)."""

    id: str
    type: str
    version: int
    rank: float
    label: str
    body: str


def search(session: Session, q: str, types: list[str] | None, viewer: Viewer, limit: int,
           cursor: str | None, lang: str) -> tuple[list[Hit], int, str | None]:
    """Visible records matching ``q`` in any language, best first."""
    offset = 0
    if cursor:
        match = SEARCH_CURSOR.fullmatch(cursor)
        if match is None:
            raise CursorError("Not a cursor issued by this API.")
        offset = int(cursor[2:])
    postgres = session.get_bind().dialect.name == "postgresql"
    if not postgres and not _terms(q):
        return [], 0, None
    # Queries that search the same thing share one ranking ("Help", "help  " ...).
    same = tuple(_terms(q)) if not postgres else " ".join(q.lower().split())
    spanish = not postgres and _spanish(_terms(q), lang)
    ranked = memo.MEMO.get(session, ("search", same, spanish, tuple(types or ()),
                                viewer.visibilities),
                      lambda: _ranking(session, q, types, viewer, spanish))
    page = ranked[offset:offset + limit]
    # One read for the page: each record (if still visible) and its texts. A record retired
    # or hidden since the ranking was made is skipped rather than shown; the ranking itself
    # is dropped at the next request (the version changed).
    found: dict[str, Any] = {}
    for row in session.connection().execute(_SEARCH_PAGE, {
            "ids": [record_id for record_id, _ in page], "visibilities": viewer.visibilities,
            "langs": (lang, LANGUAGES[0])}):
        if row.id not in found or row.lang == lang:
            found[row.id] = row
    hits = [Hit(row.id, row.type, row.version, rank, row.label or "", row.body or "")
            for record_id, rank in page if (row := found.get(record_id)) is not None]
    total = len(ranked)
    next_cursor = f"o.{offset + limit}" if offset + limit < total else None
    return hits, total, next_cursor


def _ranking(session: Session, q: str, types: list[str] | None,
             viewer: Viewer, spanish: bool = False) -> list[tuple[str, float]] | facets.Ranking:
    """Every visible record matching ``q``, best first: (id, rank).

    On SQLite, once this data version's :class:`api.accel.facets.SearchMap` is built, the ranking
    reads the full-text index alone and maps documents to records in memory, with numpy (a
    join per match costs more than the match itself, and so does a Python loop over
    thousands of matches); until then, and on PostgreSQL, SQL ranks. Once this version's
    :class:`api.accel.postings.Postings` are built too, the matches and their bm25 come from memory
    (the same doubles FTS5 gives); until then, for words FTS5 splits and for words asked
    with their Spanish stems (``spanish``), FTS5 gives them."""
    if session.get_bind().dialect.name == "sqlite" and not session.info.get(WRITING):
        version = data_version(session)
        index = facets.INDEXES.get(session, version, "search", viewer.visibilities,
                                   lambda built: facets.build_search_map(built, visible(viewer)))
        held = facets.SLOW_INDEXES.get(session, version, "postings", (), _build_postings)
        if index is not None:
            # The driver's own connection: plain tuples, no ORM. (A write committed between
            # the version read and this query makes the ranking newer than its version, never
            # older; documents the map does not know are left out.)
            terms = _terms(q)
            found = None if held is None else held.hits_any(_groups(terms, spanish))
            if found is None:
                connection = session.connection().connection.driver_connection
                found = fts5_hits(connection, _match_expression(terms, spanish))
            return index.rank(*found, tuple(types or ()))
    return _sql_ranking(session, q, types, viewer, spanish)


def _build_postings(session: Session) -> postings.Postings:
    return postings.build(session, "search_fts", BM25_WEIGHTS)


def _sql_ranking(session: Session, q: str, types: list[str] | None,
                 viewer: Viewer, spanish: bool = False) -> list[tuple[str, float]]:
    hits_ = _fts_hits(session, q, spanish)
    best = (select(hits_.c.record_id, func.min(hits_.c.rank).label("rank"))
            .group_by(hits_.c.record_id).subquery())
    conditions = [visible(viewer)]
    if types:
        conditions.append(Record.type.in_(types))
    query = (select(Record.id, best.c.rank).join(best, best.c.record_id == Record.id)
             .where(*conditions).order_by(best.c.rank, Record.id))
    return [(row[0], float(row[1])) for row in session.execute(query)]


def snippet(text_: str, q: str, width: int = 160) -> str:
    """A short excerpt of ``text_`` around the first word of ``q`` it contains."""
    text_ = " ".join(text_.split())
    lowered = text_.lower()
    position = -1
    for term in _terms(q):
        position = lowered.find(term)
        if position >= 0:
            break
    if len(text_) <= width:
        return text_
    start = max(0, position - width // 3) if position >= 0 else 0
    end = min(len(text_), start + width)
    start = max(0, end - width)
    excerpt = text_[start:end].strip()
    return ("…" if start > 0 else "") + excerpt + ("…" if end < len(text_) else "")

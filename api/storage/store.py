"""Reading and publishing records: the only module that writes the storage tables."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
from sqlalchemy import (
    Select,
    and_,
    bindparam,
    delete,
    event,
    func,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from api import accel
from api.accel import facets, postings, writecount
from api.storage import renditions, stemming
from api.storage.db import VERSION_INFO
from api.storage.models import (
    AuditEntry,
    Change,
    Record,
    RecordTerm,
    RecordVersion,
    Rendition,
    SearchDoc,
    WriteLock,
)
from schemas.fields import LANGUAGES
from schemas.params import FILTERS, LIST_CURSOR_PATTERN, SEARCH_CURSOR_PATTERN
from schemas.records import SCHEMAS, complete
from schemas.registry import REGISTRY
from schemas.render import RENDER_FORMAT, available_languages, field_plan, localize
from schemas.vocabularies import VOCABULARIES

PUBLISHED = "published"
RETIRED = "retired"
DRAFT = "draft"
#: Fields whose strings are not prose and stay out of the search index.
UNSEARCHED = {"id", "url", "sources", "verified_on", "verification_status", "status",
              "visibility", "related", "contacts", "languages", "value", "field"}


class CursorError(ValueError):
    """A cursor that this server did not issue for this query."""


def utcnow() -> datetime:
    """Now, in UTC, to the second (timestamps are compared and shown to the second)."""
    return datetime.now(UTC).replace(microsecond=0, tzinfo=None)


def as_utc(moment: datetime) -> datetime:
    """A naive UTC datetime (how the tables store time) from an aware or naive one."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def rfc3339(moment: datetime | None) -> str | None:
    return None if moment is None else as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


# --------------------------------------------------------------------------------- publishing


class WriteConflict(Exception):
    """A write that cannot apply to the record as it is now (``status`` says how to answer)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class SaveResult:
    record: Record
    created: bool
    changed: bool


def lock_writes(session: Session) -> None:
    """Make this transaction the only writer until it ends, before it reads anything.

    Writers then see the latest committed state, revisions are checked without races, and
    change numbers commit in order (a feed reader never skips one). The data version that
    the caches check (``write_lock``) changes only if the transaction changes a record
    (:func:`_bump_version`): a save of identical content, or a seed run again, leaves every
    cached answer valid.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7105)"))
    else:  # this first write, which changes nothing, takes SQLite's write lock
        session.execute(update(WriteLock).values(counter=WriteLock.counter))
    session.info.pop(VERSION_INFO, None)
    # Until it ends, this transaction's version may never commit: nothing is filed under it.
    session.info[WRITING] = True
    if WRITE_TICKET not in session.info:  # holding the write lock: tell other processes
        counter = writecount.for_url(session.get_bind().url)
        if counter is not None:
            session.info[WRITE_TICKET] = counter.begin()


def _bump_version(session: Session) -> None:
    """The first change of a record in this transaction: a new data version (once per
    transaction). A new random epoch with every one: a version never comes back, even after
    restoring a backup."""
    if not session.info.get(CHANGED):
        session.execute(update(WriteLock).values(counter=WriteLock.counter + 1,
                                                 epoch=secrets.token_hex(8)))
        session.info.pop(VERSION_INFO, None)
        session.info[CHANGED] = True


def _diff(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, Any]:
    before = before or {}
    return {name: {"from": before.get(name), "to": after.get(name)}
            for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)}


def save(session: Session, record_type: str, content: dict[str, Any], *, actor: str,
         action: str, request_id: str = "", expected_revision: int | None = None,
         must_exist: bool | None = None, now: datetime | None = None) -> SaveResult:
    """Write ``content`` (validated, multilingual) as the record's new state; the caller commits.

    ``status`` decides what readers see: ``published`` and ``retired`` make a new version (kept
    for ever in ``record_versions``) and a change entry; ``draft`` stays out of every read (a
    published record moved back to draft leaves the feed as a delete). Identical content is a
    no-op. ``expected_revision`` guards against lost updates; ``must_exist`` True is an update,
    False a creation. Every real change is audited.
    """
    now = now or utcnow()
    record_id = content["id"]
    digest = content_hash(content)
    status = content.get("status", PUBLISHED)
    visibility = content.get("visibility", "public")
    lock_writes(session)
    record = session.get(Record, record_id, populate_existing=True)
    if record is not None and record.type != record_type:
        raise WriteConflict(409, f"{record_id!r} is already used by a {record.type}.")
    if must_exist is False and record is not None:
        raise WriteConflict(409, f"A record with the id {record_id!r} already exists.")
    if must_exist and record is None:
        raise WriteConflict(404, f"No {record_type} has the id {record_id!r}.")
    if expected_revision is not None and (record is None or record.revision != expected_revision):
        raise WriteConflict(412, "The record has changed since you read it: GET it again, "
                                 "reapply your change, and send the new ETag in If-Match.")
    if record is None and status == RETIRED:
        raise WriteConflict(422, "A new record cannot start out retired.")
    if record is not None and record.content_hash == digest and record.status == status:
        return SaveResult(record, created=False, changed=False)

    _bump_version(session)
    before = None if record is None else {**record.content, "status": record.status}
    was_visible = record is not None and record.status in (PUBLISHED, RETIRED)
    created = record is None
    if record is None:
        record = Record(id=record_id, type=record_type, created_at=now, version=0, seq=0,
                        revision=0)
        session.add(record)
    if status in (PUBLISHED, RETIRED):
        record.version += 1
    record.revision += 1
    record.status = status
    record.visibility = visibility
    record.updated_at = now
    record.retired_at = now if status == RETIRED else None
    record.content = content
    record.content_hash = digest
    record.available_langs = available_languages(record_type, content)
    if status in (PUBLISHED, RETIRED) or was_visible:
        change = Change(record_id=record_id, type=record_type, version=record.version,
                        op="upsert" if status == PUBLISHED else "delete",
                        visibility=visibility, at=now)
        session.add(change)
        session.flush()
        record.seq = change.seq
    session.flush()
    if status in (PUBLISHED, RETIRED):
        session.add(RecordVersion(record_id=record_id, version=record.version, type=record_type,
                                  status=status, visibility=visibility, content=content,
                                  content_hash=digest, published_at=now, seq=record.seq))
        renditions.add(session, record_type, content, renditions.version_system(
            record_id, record.version, status, visibility, record.available_langs,
            record.created_at, now))
    _index(session, record_type, content)
    session.add(AuditEntry(at=now, actor=actor, action=action, record_type=record_type,
                           record_id=record_id, version=record.version, status=status,
                           changes=_diff(before, {**content, "status": status}),
                           request_id=request_id))
    return SaveResult(record, created=created, changed=True)


def _index(session: Session, record_type: str, content: dict[str, Any]) -> None:
    record_id = content["id"]
    content = complete(record_type, content)
    session.execute(delete(RecordTerm).where(RecordTerm.record_id == record_id))
    for flt in FILTERS[record_type]:
        for value in sorted(flt.values(content)):
            session.add(RecordTerm(record_id=record_id, name=flt.param, value=value))
    session.execute(delete(SearchDoc).where(SearchDoc.record_id == record_id))
    session.flush()
    plan = field_plan(SCHEMAS[record_type])
    label_field = REGISTRY[record_type].label
    sqlite = session.get_bind().dialect.name == "sqlite"
    for lang in available_languages(record_type, content):
        localized = localize(plan, content, lang)
        label = localized[label_field]
        words: list[str] = []
        _collect_text(localized, lang, words, skip={label_field})
        body = " \n".join(words)
        session.add(SearchDoc(record_id=record_id, lang=lang, label=label, body=body))
        if sqlite and lang == "es":  # FTS5 stems English only: a document of Spanish stems
            session.add(SearchDoc(record_id=record_id, lang=stemming.STEM_LANG,
                                  label=stemming.stems(label), body=stemming.stems(body)))


_LABELS = {term.code: term for terms in VOCABULARIES.values() for term in terms}


def _collect_text(value: Any, lang: str, out: list[str], skip: set[str] = frozenset()) -> None:
    """Every searchable string of a localized record; vocabulary codes become their labels."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in UNSEARCHED and key not in skip:
                _collect_text(item, lang, out)
    elif isinstance(value, list):
        for item in value:
            _collect_text(item, lang, out)
    elif isinstance(value, str):
        term = _LABELS.get(value)
        out.append(getattr(term, lang) if term is not None else value)


# ---------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Viewer:
    """Who is asking: which visibilities they may see, and with which key and scopes."""

    visibilities: tuple[str, ...] = ("public",)
    keyed: bool = False
    name: str | None = None
    scopes: frozenset[str] = frozenset()

    @property
    def editor(self) -> bool:
        return "write" in self.scopes


def data_version(session: Session) -> tuple[str, int]:
    """The random epoch and the counter every transaction that changes a record sets (see
    :func:`_bump_version`): equal versions mean equal data, across rebuilds and restores too.

    Read once per transaction and kept in ``session.info`` until it ends. Read it after
    :func:`state` (where ETags come from): values filed under it are then never older than
    the ETag they are sent with."""
    known = session.info.get(VERSION_INFO)
    if known is None:
        row = session.connection().execute(_VERSION).first()
        known = session.info[VERSION_INFO] = ("", 0) if row is None else (row[0], row[1])
    return known  # type: ignore[no-any-return]


#: ``session.info`` flag of a transaction that took the write lock.
WRITING = "writing"
#: ``session.info`` flag of a transaction that changed a record (and the data version).
CHANGED = "changed"
#: ``session.info``: this transaction's ticket in the shared write counters
#: (:mod:`api.accel.writecount`), ended when the transaction ends.
WRITE_TICKET = "write_ticket"


@event.listens_for(Session, "after_transaction_end")
def _forget_version(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost one: the next may see other commits
        session.info.pop(VERSION_INFO, None)
        session.info.pop(WRITING, None)
        session.info.pop(CHANGED, None)
        ticket = session.info.pop(WRITE_TICKET, None)
        if ticket is not None:  # committed or rolled back: readers may trust the counter
            writecount.WriteCounter.end(ticket)


class VersionMemo:
    """Values computed from the tables (list totals, search rankings), kept per database until
    the next write transaction commits. The version is read before the value is computed, so a
    value is never older than the version it is filed under."""

    MAX_ITEMS = 4096
    #: A ranking longer than this is not kept, and all kept values together hold at most
    #: MAX_HELD items, so memory stays bounded whatever callers search for.
    MAX_LIST = 20_000
    MAX_HELD = 200_000

    def __init__(self) -> None:
        self._versions: dict[str, tuple[str, int]] = {}
        self._values: dict[tuple[Any, ...], Any] = {}
        self._held = 0
        self._lock = threading.Lock()

    def get(self, session: Session, key: tuple[Any, ...], compute: Any) -> Any:
        if session.info.get(WRITING) or not accel.enabled():
            return compute()
        database = str(session.get_bind().url)
        version = data_version(session)
        with self._lock:
            if self._versions.get(database) != version:
                self._versions[database] = version
                for stale in [k for k in self._values if k[0] == database]:
                    gone = self._values.pop(stale)
                    self._held -= _size(gone)
            found = self._values.get((database, *key), _MISSING)
        if found is not _MISSING:
            return found
        value = compute()
        size = _size(value)
        if size > self.MAX_LIST:
            return value  # too big to keep: computed again next time
        with self._lock:
            if self._versions.get(database) == version:
                if len(self._values) >= self.MAX_ITEMS or self._held + size > self.MAX_HELD:
                    self._values.clear()
                    self._held = 0
                self._values[(database, *key)] = value
                self._held += size
        return value


def _size(value: Any) -> int:
    """Items a memoized value holds: a list's or ranking's length, else one."""
    return len(value) if isinstance(value, list | facets.Ranking) else 1


_MISSING = object()
MEMO = VersionMemo()


def visible(viewer: Viewer) -> Any:
    return _visible_to(viewer.visibilities)


def _visible_to(visibilities: Any) -> Any:
    """Published records of these visibilities (a tuple, or a bound parameter)."""
    return and_(Record.status == PUBLISHED, Record.visibility.in_(visibilities))


def state(session: Session) -> tuple[int, datetime | None]:
    """The latest change number and its time: the version of everything a list can show.
    (Read on the session's connection, without the ORM: pending changes are not flushed.)"""
    row = session.connection().execute(_LATEST_CHANGE).first()
    return (0, None) if row is None else (row.seq, row.at)


def get_record(session: Session, record_id: str, record_type: str) -> Record | None:
    record = session.get(Record, record_id)
    if record is None or record.type != record_type:
        return None
    return record


def get_item_row(session: Session, record_id: str, record_type: str, lang: str) -> Any | None:
    """One record as a row of :data:`ITEM_COLUMNS` (no ORM object; its rendition in ``lang``),
    for reads that show it as :mod:`api.services.items` does; None when there is no such record of
    this type."""
    return session.connection().execute(
        _ITEM_ROW, {"record_id": record_id, "record_type": record_type, "lang": lang}).first()


def contents(session: Session, record_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The stored content of some records, by id (for those shown without a rendition)."""
    return {row.id: row.content for row in session.connection().execute(
        select(Record.id, Record.content).where(Record.id.in_(record_ids)))}


def system_fields(record: Any) -> dict[str, Any]:
    """The server-owned fields of a row of ``records`` as a response shows them."""
    return {
        "id": record.id,
        "version": record.version,
        "status": record.status,
        "visibility": record.visibility,
        "available_langs": record.available_langs,
        "created_at": rfc3339(record.created_at),
        "updated_at": rfc3339(record.updated_at),
        "retired_at": rfc3339(record.retired_at),
    }


#: The current version's rendition in the language asked (bound as ``lang``): none for a draft
#: (its content is not a published version) or a rendition of another format.
RENDERED = (select(Rendition.body)
            .where(Rendition.record_id == Record.id, Rendition.version == Record.version,
                   Rendition.lang == bindparam("lang"), Rendition.format == RENDER_FORMAT,
                   Record.status != DRAFT)
            .correlate(Record).scalar_subquery().label("rendered"))
#: What a list reads of each record when its items come from :mod:`api.services.items`: the system
#: fields and the rendition (``lang`` bound when the statement runs).
ITEM_COLUMNS = (Record.id, Record.revision, Record.version, Record.status, Record.visibility,
                Record.available_langs, Record.created_at, Record.updated_at, Record.retired_at,
                RENDERED)


# Hot statements, built once and run on the session's connection (Core): building a select
# and running it through the ORM session cost several times what SQLite takes to answer it.
_VERSION = select(WriteLock.epoch, WriteLock.counter).where(WriteLock.id == 1)
_LATEST_CHANGE = select(Change.seq, Change.at).order_by(Change.seq.desc()).limit(1)
_SEARCH_PAGE = (select(Record.id, Record.type, Record.version, SearchDoc.lang, SearchDoc.label,
                       SearchDoc.body)
                .outerjoin(SearchDoc, and_(SearchDoc.record_id == Record.id,
                                           SearchDoc.lang.in_(bindparam("langs", expanding=True))))
                .where(Record.id.in_(bindparam("ids", expanding=True)),
                       _visible_to(bindparam("visibilities", expanding=True))))
_ITEM_ROW = select(*ITEM_COLUMNS).where(Record.id == bindparam("record_id"),
                                        Record.type == bindparam("record_type"))


def _rows(session: Session, query: Select[Any], columns: tuple[Any, ...],
          lang: str = "en") -> list[Any]:
    """Records (``columns`` is ``(Record,)``) or plain rows of ``columns`` (read on the
    session's connection, without the ORM: pending changes are not flushed; for reads)."""
    if columns[0] is Record:
        return list(session.execute(query).scalars())
    return list(session.connection().execute(query, {"lang": lang}))


SORT_CODES = {"id": "i", "updated_at": "u", "-updated_at": "d"}
SORTS_BY_CODE = {code: sort for sort, code in SORT_CODES.items()}
LIST_CURSOR = re.compile(LIST_CURSOR_PATTERN)
SEARCH_CURSOR = re.compile(SEARCH_CURSOR_PATTERN)


def list_cursor(sort: str, row: Record) -> str:
    """The position after ``row`` in a list ordered by ``sort``."""
    stamp = 0 if sort == "id" else int(as_utc(row.updated_at).replace(tzinfo=UTC).timestamp())
    return f"{SORT_CODES[sort]}.{stamp}.{row.id}"


def parse_list_cursor(cursor: str) -> tuple[str, datetime, str]:
    """(sort, updated_at, id) of a list cursor; the cursor's order is the one continued."""
    match = LIST_CURSOR.fullmatch(cursor)
    if match is None:
        raise CursorError("Not a cursor issued by this API.")
    code, stamp, last_id = cursor.split(".", 2)
    moment = datetime.fromtimestamp(int(stamp), UTC).replace(tzinfo=None)
    return SORTS_BY_CODE[code], moment, last_id


@dataclass
class Page:
    rows: list[Any]
    total: int
    next_cursor: str | None


def list_records(session: Session, record_type: str, args: dict[str, Any],
                 viewer: Viewer, with_content: bool = True, lang: str = "en") -> Page:
    """One page of visible records of a type, filtered and sorted as ``args`` say.

    ``rows`` are :class:`Record` objects; with ``with_content`` False, plain rows of
    :data:`ITEM_COLUMNS` (each with its rendition in ``lang``, no ORM objects): for callers
    that take rendered items from :mod:`api.services.items`."""
    columns = (Record,) if with_content else ITEM_COLUMNS
    conditions = [Record.type == record_type, visible(viewer)]
    filters = [(flt.param, tuple(args[flt.param])) for flt in FILTERS[record_type]
               if args.get(flt.param)]
    sort = args.get("sort", "id")
    cursor = parse_list_cursor(args["cursor"]) if args.get("cursor") else None
    if cursor is not None:
        sort = cursor[0]
    if (filters and sort == "id" and not args.get("q") and args.get("updated_since") is None
            and args["limit"] <= MAX_INDEXED_PAGE):
        page = _indexed_page(session, record_type, viewer, filters,
                             cursor[2] if cursor else None, args["limit"], columns, lang)
        if page is not None:
            return page
    if args.get("updated_since") is not None:
        conditions.append(Record.updated_at >= as_utc(args["updated_since"]))
    if args.get("q"):
        matching = _matching_ids(session, args["q"])
        if matching is None:
            return Page([], 0, None)
        conditions.append(Record.id.in_(matching))

    def count(with_filters: list[tuple[str, tuple[str, ...]]]) -> int:
        where = conditions + [_term_filter(name, values, exists=False)
                              for name, values in with_filters]
        return session.scalar(select(func.count()).select_from(Record).where(*where)) or 0

    key = ("total", record_type, viewer.visibilities, args.get("updated_since"), args.get("q"))
    total = MEMO.get(session, (*key, tuple(filters)), lambda: count(filters))
    if filters:
        # A common term is found fastest by walking the list in order and probing each record
        # (EXISTS); a rare one by collecting its few records first (IN).
        everything = MEMO.get(session, (*key, ()), lambda: count([]))
        common = total * 50 >= everything
        conditions.extend(_term_filter(name, values, exists=common) for name, values in filters)
    query: Select[Any] = select(*columns).where(*conditions)
    if cursor is not None:
        sort, moment, last_id = cursor
        if sort == "id":
            query = query.where(Record.id > last_id)
        elif sort == "updated_at":
            query = query.where(or_(Record.updated_at > moment,
                                    and_(Record.updated_at == moment, Record.id > last_id)))
        else:
            query = query.where(or_(Record.updated_at < moment,
                                    and_(Record.updated_at == moment, Record.id > last_id)))
    if sort == "id":
        query = query.order_by(Record.id)
    elif sort == "updated_at":
        query = query.order_by(Record.updated_at, Record.id)
    else:
        query = query.order_by(Record.updated_at.desc(), Record.id)
    limit = args["limit"]
    rows = _rows(session, query.limit(limit + 1), columns, lang)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = list_cursor(sort, rows[-1])
    return Page(rows, total, next_cursor)


#: Longest page a filtered list takes from the in-memory index (CSV exports ask for all).
MAX_INDEXED_PAGE = 1000


def _indexed_page(session: Session, record_type: str, viewer: Viewer,
                  filters: list[tuple[str, tuple[str, ...]]], after_id: str | None,
                  limit: int, columns: tuple[Any, ...] = (Record,),
                  lang: str = "en") -> Page | None:
    """A filtered page in id order from :mod:`api.accel.facets`; None when SQL must answer (the
    index is being built by another thread, or the cursor's record is no longer listed)."""
    if session.info.get(WRITING):
        return None
    index = facets.INDEXES.get(session, data_version(session), record_type,
                               viewer.visibilities,
                               lambda built: facets.build(built, record_type, visible(viewer)))
    if index is None:
        return None
    after = -1
    if after_id is not None:
        found = index.positions.get(after_id)
        if found is None:
            return None
        after = found
    matching = index.matching(filters)
    ids = index.page(matching, after, limit + 1)
    shown = ids[:limit]
    # Rows are read now, so one retired since the index was built is left out, not shown.
    rows_by_id = {row.id: row for row in _rows(
        session, select(*columns).where(Record.id.in_(shown), visible(viewer)), columns, lang)}
    rows = [rows_by_id[record_id] for record_id in shown if record_id in rows_by_id]
    next_cursor = f"{SORT_CODES['id']}.0.{shown[-1]}" if len(ids) > limit else None
    return Page(rows, matching.bit_count(), next_cursor)


# ----------------------------------------------------------------------------------- search

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
    for term in terms:
        quoted = '"' + term.replace('"', "") + '"'
        root = stemming.stem(term) if spanish else term
        out.append(f'({quoted} OR "{root.replace(chr(34), "")}")' if root != term else quoted)
    return " AND ".join(out) if spanish else " ".join(out)


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


def _term_filter(name: str, values: tuple[str, ...], exists: bool) -> Any:
    """Records carrying any of ``values`` for the filter ``name``."""
    if exists:
        return select(RecordTerm.record_id).where(
            RecordTerm.record_id == Record.id, RecordTerm.name == name,
            RecordTerm.value.in_(values)).exists()
    return Record.id.in_(select(RecordTerm.record_id).where(RecordTerm.name == name,
                                                            RecordTerm.value.in_(values)))


def _matching_ids(session: Session, q: str) -> Select[Any] | None:
    hits = _fts_hits(session, q)
    return None if hits is None else select(hits.c.record_id)


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
    ranked = MEMO.get(session, ("search", same, spanish, tuple(types or ()),
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
            found = held.hits(terms) if held is not None and not spanish else None
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


# ----------------------------------------------------------------------------- vocabularies


def term_counts(session: Session, viewer: Viewer) -> dict[tuple[str, str, str], int]:
    """How many visible records carry each (type, filter, code)."""
    rows = session.execute(
        select(Record.type, RecordTerm.name, RecordTerm.value, func.count())
        .join(Record, Record.id == RecordTerm.record_id)
        .where(visible(viewer))
        .group_by(Record.type, RecordTerm.name, RecordTerm.value))
    return {(row[0], row[1], row[2]): row[3] for row in rows}

"""Lists of records: filters, sorts, cursors and totals."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from api.accel import facets, memo
from api.storage import search as search_engine
from api.storage.clock import as_utc
from api.storage.models import (
    Record,
    RecordTerm,
)
from api.storage.store import (
    ITEM_COLUMNS,
    WRITING,
    CursorError,
    Viewer,
    _rows,
    data_version,
    visible,
)
from schemas.params import FILTERS, LIST_CURSOR_PATTERN
from schemas.registry import REGISTRY, Via

SORT_CODES = {"id": "i", "updated_at": "u", "-updated_at": "d"}

SORTS_BY_CODE = {code: sort for sort, code in SORT_CODES.items()}

LIST_CURSOR = re.compile(LIST_CURSOR_PATTERN)


def list_cursor(sort: str, row: Record) -> str:
    """The position after ``row`` in a list ordered by ``sort``."""
    if sort == "id":
        return id_cursor(row.id)
    stamp = int(as_utc(row.updated_at).replace(tzinfo=UTC).timestamp())
    return f"{SORT_CODES[sort]}.{stamp}.{row.id}"


def id_cursor(record_id: str) -> str:
    """The position after ``record_id`` in a list in id order."""
    return f"{SORT_CODES['id']}.0.{record_id}"


def parse_list_cursor(cursor: str) -> tuple[str, datetime, str]:
    """(sort, updated_at, id) of a list cursor; the cursor's order is the one continued."""
    match = LIST_CURSOR.fullmatch(cursor)
    if match is None:
        raise CursorError("Not a cursor issued by this API.")
    code, stamp, last_id = cursor.split(".", 2)
    moment = datetime.fromtimestamp(int(stamp), UTC).replace(tzinfo=None)
    return SORTS_BY_CODE[code], moment, last_id


def _through(session: Session, via: Via, values: list[str], viewer: Viewer) -> tuple[str, ...]:
    """The codes visible ``via.through`` records whose ``via.match`` is one of ``values``
    hold in ``via.codes``."""
    found: set[str] = set()
    for (content,) in session.execute(select(Record.content).where(
            Record.type == via.through, visible(viewer))):
        if content.get(via.match) in values:
            found.update(content.get(via.codes) or ())
    return tuple(sorted(found))


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
    for via in REGISTRY[record_type].via:
        if args.get(via.param):
            found = memo.MEMO.get(session, ("via", via.param, tuple(args[via.param]),
                                            viewer.visibilities),
                                  lambda via=via: _through(session, via, args[via.param], viewer))
            if not found:  # nothing maps them: no record matches
                return Page([], 0, None)
            filters.append((via.filter, found))
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
        matching = search_engine.matching_ids(session, args["q"])
        if matching is None:
            return Page([], 0, None)
        conditions.append(Record.id.in_(matching))

    def count(with_filters: list[tuple[str, tuple[str, ...]]]) -> int:
        where = conditions + [_term_filter(name, values, exists=False)
                              for name, values in with_filters]
        return session.scalar(select(func.count()).select_from(Record).where(*where)) or 0

    key = ("total", record_type, viewer.visibilities, args.get("updated_since"), args.get("q"))
    total = memo.MEMO.get(session, (*key, tuple(filters)), lambda: count(filters))
    if filters:
        # A common term is found fastest by walking the list in order and probing each record
        # (EXISTS); a rare one by collecting its few records first (IN).
        everything = memo.MEMO.get(session, (*key, ()), lambda: count([]))
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
    next_cursor = id_cursor(shown[-1]) if len(ids) > limit else None
    return Page(rows, matching.bit_count(), next_cursor)


def _term_filter(name: str, values: tuple[str, ...], exists: bool) -> Any:
    """Records carrying any of ``values`` for the filter ``name``."""
    if exists:
        return select(RecordTerm.record_id).where(
            RecordTerm.record_id == Record.id, RecordTerm.name == name,
            RecordTerm.value.in_(values)).exists()
    return Record.id.in_(select(RecordTerm.record_id).where(RecordTerm.name == name,
                                                            RecordTerm.value.in_(values)))

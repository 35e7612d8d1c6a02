"""The state of records: the data version, visibility, single reads and shared helpers.
Writing is :mod:`api.storage.publish`, lists :mod:`api.storage.lists`, search
:mod:`api.storage.search`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Select,
    and_,
    bindparam,
    event,
    func,
    select,
)
from sqlalchemy.orm import Session

from api.accel import writecount
from api.storage import renditions
from api.storage.db import VERSION_INFO
from api.storage.models import (
    Change,
    Record,
    RecordTerm,
    Rendition,
    WriteLock,
)
from api.storage.renditions import RENDER_FORMAT

PUBLISHED = "published"

RETIRED = "retired"

DRAFT = "draft"


class CursorError(ValueError):
    """A cursor that this server did not issue for this query."""








def content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


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

    @classmethod
    def of_key(cls, name: str, scopes: frozenset[str]) -> Viewer:
        """The holder of the key ``name`` with ``scopes``: restricted records need
        ``read:restricted``."""
        visibilities = (("public", "law_enforcement") if "read:restricted" in scopes
                        else ("public",))
        return cls(visibilities=visibilities, keyed=True, name=name, scopes=scopes)


def data_version(session: Session) -> tuple[str, int]:
    """The random epoch and the counter every transaction that changes a record sets (see
    :func:`_bump_version`): equal versions mean equal data, across rebuilds and restores too.

    Read once per transaction and kept in ``session.info`` until it ends. Read it after
    :func:`state` (where ETags come from): values filed under it are then never older than
    the ETag they are sent with."""
    known = session.info.get(VERSION_INFO)
    if known is None:
        row = session.connection().execute(VERSION).first()
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


def visible(viewer: Viewer) -> Any:
    return _visible_to(viewer.visibilities)


def _visible_to(visibilities: Any) -> Any:
    """Published records of these visibilities (a tuple, or a bound parameter)."""
    return and_(Record.status == PUBLISHED, Record.visibility.in_(visibilities))


def state(session: Session) -> tuple[int, datetime | None]:
    """The latest change number and its time: the version of everything a list can show.
    (Read on the session's connection, without the ORM: pending changes are not flushed.)"""
    row = session.connection().execute(LATEST_CHANGE).first()
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
    return item_row(session.connection(), record_id, record_type, lang)


def item_row(connection: Connection, record_id: str, record_type: str, lang: str) -> Any | None:
    """:func:`get_item_row` on a connection (no session)."""
    return connection.execute(
        ITEM_ROW, {"record_id": record_id, "record_type": record_type, "lang": lang}).first()


def contents(session: Session, record_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The stored content of some records, by id (for those shown without a rendition)."""
    return {row.id: row.content for row in session.connection().execute(
        select(Record.id, Record.content).where(Record.id.in_(record_ids)))}


def system_fields(record: Any) -> dict[str, Any]:
    """The server-owned fields of a row of ``records`` as a response shows them: those of its
    latest version (a retired record's ``retired_at`` is its ``updated_at``)."""
    return renditions.version_system(record.id, record.version, record.status,
                                     record.visibility, record.available_langs,
                                     record.created_at, record.updated_at)

#: The current version's rendition in the language asked (bound as ``lang``): none for a draft
#: (its content is not a published version) or a rendition of another format.
def current_rendition(lang: Any, record_id: Any, version: Any) -> Any:
    """A join condition: the current-format rendition of a version in ``lang``."""
    return and_(Rendition.record_id == record_id, Rendition.version == version,
                Rendition.lang == lang, Rendition.format == RENDER_FORMAT)


RENDERED = (select(Rendition.body)
            .where(current_rendition(bindparam("lang"), Record.id, Record.version),
                   Record.status != DRAFT)
            .correlate(Record).scalar_subquery().label("rendered"))

#: What a list reads of each record when its items come from :mod:`api.services.items`: the system
#: fields and the rendition (``lang`` bound when the statement runs).
ITEM_COLUMNS = (Record.id, Record.revision, Record.version, Record.status, Record.visibility,
                Record.available_langs, Record.created_at, Record.updated_at, Record.retired_at,
                RENDERED)

# Hot statements, built once and run on the session's connection (Core): building a select
# and running it through the ORM session cost several times what SQLite takes to answer it.
VERSION = select(WriteLock.epoch, WriteLock.counter).where(WriteLock.id == 1)

LATEST_CHANGE = select(Change.seq, Change.at).order_by(Change.seq.desc()).limit(1)

ITEM_ROW = select(*ITEM_COLUMNS).where(Record.id == bindparam("record_id"),
                                        Record.type == bindparam("record_type"))


def _rows(session: Session, query: Select[Any], columns: tuple[Any, ...],
          lang: str = "en") -> list[Any]:
    """Records (``columns`` is ``(Record,)``) or plain rows of ``columns`` (read on the
    session's connection, without the ORM: pending changes are not flushed; for reads)."""
    if columns[0] is Record:
        return list(session.execute(query).scalars())
    return list(session.connection().execute(query, {"lang": lang}))


def term_counts(session: Session, viewer: Viewer) -> dict[tuple[str, str, str], int]:
    """How many visible records carry each (type, filter, code)."""
    rows = session.execute(
        select(Record.type, RecordTerm.name, RecordTerm.value, func.count())
        .join(Record, Record.id == RecordTerm.record_id)
        .where(visible(viewer))
        .group_by(Record.type, RecordTerm.name, RecordTerm.value))
    return {(row[0], row[1], row[2]): row[3] for row in rows}

"""Revisions, the change feed and exports: how mirrors and records systems follow the content.

All three read only the immutable tables (``changes``, ``record_versions`` and their
``renditions``), so what they show is exact for any point of the change sequence, without
locks or snapshots: an export at token ``c.N`` is the state after change N, and the feed from
``c.N`` replays every later change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from api.storage import renditions
from api.storage.models import Change, Record, RecordVersion, Rendition
from api.storage.store import PUBLISHED, Viewer, current_rendition
from api.storage.store import RETIRED as RETIRED_STATUS
from schemas.webhooks import EVENT_TYPES

UPSERT, DELETE = "upsert", "delete"


def token(seq: int) -> str:
    return f"c.{seq}"


def token_seq(value: str | None) -> int:
    """The change number of a token (validated by the parameter pattern); none: the beginning."""
    return int(value[2:]) if value else 0


def render_version(session: Session, version: RecordVersion, created_at: datetime,
                   lang: str, stored: str | None = None) -> orjson.Fragment:
    """A record exactly as it was published at ``version``: its rendition (``stored``, or read
    now), or rendered now when it has none of the current format."""
    if stored is None:
        return orjson.Fragment(renditions.rendered_version(session, version, created_at, lang))
    return orjson.Fragment(stored)


@dataclass
class FeedPage:
    entries: list[dict[str, Any]]
    next_seq: int
    has_more: bool


def _rows(session: Session, since: int, types: list[str] | None, lang: str, limit: int,
          latest: int) -> tuple[list[Any], bool]:
    """Up to ``limit`` changes after ``since`` (to ``latest``), each with its version, its
    record's creation time, the record's change before it (op, visibility) and its rendition
    in ``lang``; and whether there are more."""
    previous = aliased(Change)
    prior_seq = (select(func.max(previous.seq))
                 .where(previous.record_id == Change.record_id, previous.seq < Change.seq)
                 .correlate(Change).scalar_subquery())
    before = aliased(Change)
    query = (select(Change, RecordVersion, Record.created_at, before.op, before.visibility,
                    Rendition.body)
             .join(RecordVersion, and_(RecordVersion.record_id == Change.record_id,
                                       RecordVersion.version == Change.version))
             .join(Record, Record.id == Change.record_id)
             .outerjoin(before, before.seq == prior_seq)
             .outerjoin(Rendition, current_rendition(lang, Change.record_id, Change.version))
             .where(Change.seq > since, Change.seq <= latest)
             .order_by(Change.seq).limit(limit + 1))
    if types:
        query = query.where(Change.type.in_(types))
    rows = session.execute(query).all()
    return rows[:limit], len(rows) > limit


def feed(session: Session, since: int, types: list[str] | None, viewer: Viewer, lang: str,
         limit: int, latest: int) -> FeedPage:
    """Changes after ``since`` as this viewer sees them.

    A change that makes a record visible (or changes a visible one) is an ``upsert`` of the
    version it published; one that retires it, returns it to draft or takes it out of the
    viewer's sight is a ``delete`` -- but only when the viewer could see it just before, so
    records a caller may not see never show up, not even as deletions.

    ``latest`` is the change the page ends at (the one its ETag names); a client that has it
    already (a no-op sync, the common case) gets its empty page without a query.
    """
    if since >= latest:
        return FeedPage([], since, False)
    rows, has_more = _rows(session, since, types, lang, limit, latest)
    entries = []
    for change, version, created_at, before_op, before_visibility, stored in rows:
        visible_now = change.op == UPSERT and change.visibility in viewer.visibilities
        visible_before = before_op == UPSERT and before_visibility in viewer.visibilities
        if not (visible_now or visible_before):
            continue
        entries.append({
            "seq": change.seq,
            "op": UPSERT if visible_now else DELETE,
            "type": change.type,
            "id": change.record_id,
            "version": change.version,
            "record": (render_version(session, version, created_at, lang, stored)
                       if visible_now else None),
        })
    next_seq = rows[-1][0].seq if has_more else max(latest, since)
    return FeedPage(entries, next_seq, has_more)


#: What a change is to someone following the feed (a webhook's event types).
CREATED, UPDATED, RETIRED, WITHDRAWN = EVENT_TYPES


@dataclass(frozen=True)
class Event:
    """A change as one follower sees it: ``record`` (every language, JSON) unless it left
    their sight; ``reason`` says how it left (``retired``, ``draft``, ``restricted``)."""

    seq: int
    kind: str
    type: str
    id: str
    version: int
    at: datetime
    record: str | bytes | None
    reason: str | None

    @property
    def size(self) -> int:
        """Roughly the bytes it takes."""
        return 300 + len(self.record or "")


def events(session: Session, since: int, types: list[str] | None, viewer: Viewer, limit: int,
           latest: int) -> tuple[list[Event], int]:
    """The feed's changes after ``since`` (up to ``limit`` read) as events for ``viewer``, in
    order, and the change sequence number they reach (events or not)."""
    if since >= latest:
        return [], since
    rows, has_more = _rows(session, since, types, "*", limit, latest)
    found = []
    for change, version, created_at, before_op, before_visibility, stored in rows:
        visible_now = change.op == UPSERT and change.visibility in viewer.visibilities
        visible_before = before_op == UPSERT and before_visibility in viewer.visibilities
        if visible_now:
            found.append(Event(change.seq, UPDATED if visible_before else CREATED, change.type,
                               change.record_id, change.version, change.at,
                               stored if stored is not None else renditions.rendered_version(
                                   session, version, created_at, "*"), None))
        elif visible_before:
            reason = ("restricted" if change.op == UPSERT else
                      "retired" if version.status == RETIRED_STATUS else "draft")
            found.append(Event(change.seq, RETIRED if reason == "retired" else WITHDRAWN,
                               change.type, change.record_id, change.version, change.at, None,
                               reason))
    return found, rows[-1][0].seq if has_more else max(latest, since)


def snapshot(session: Session, at: int, viewer: Viewer, lang: str) -> list[orjson.Fragment]:
    """Every record visible to the viewer as of change ``at``, by type and id (JSON)."""
    last = (select(Change.record_id, func.max(Change.seq).label("seq"))
            .where(Change.seq <= at).group_by(Change.record_id).subquery())
    query = (select(RecordVersion, Record.created_at, Rendition.body)
             .join(Change, and_(Change.record_id == RecordVersion.record_id,
                                Change.version == RecordVersion.version))
             .join(last, last.c.seq == Change.seq)
             .join(Record, Record.id == RecordVersion.record_id)
             .outerjoin(Rendition, current_rendition(lang, RecordVersion.record_id,
                                              RecordVersion.version))
             .where(Change.op == UPSERT, Change.visibility.in_(viewer.visibilities),
                    RecordVersion.status == PUBLISHED)
             .order_by(RecordVersion.type, RecordVersion.record_id))
    return [render_version(session, version, created_at, lang, stored)
            for version, created_at, stored in session.execute(query)]


def revisions(session: Session, record_id: str) -> list[RecordVersion]:
    return list(session.scalars(select(RecordVersion).where(RecordVersion.record_id == record_id)
                                .order_by(RecordVersion.version)))


def revision(session: Session, record_id: str, number: int) -> RecordVersion | None:
    return session.get(RecordVersion, (record_id, number))

"""Storage: published versions (immutable), the current state derived from them, and the change
sequence that every publish appends to.

- ``record_versions``: every published version of every record, in the multilingual form, kept
  for ever (keyed by id and version), so any version can be shown exactly as it was.
- ``records``: one row per record with its current state; with ``record_terms`` (vocabulary codes)
  and ``search_docs`` (text per language) it serves filters, search and paging.
- ``changes``: one row per publish or retirement, ``seq`` strictly increasing.
- ``renditions``: each published version rendered once, in each language and in every language
  (``*``), as the API sends it (:mod:`api.storage.renditions`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, datetime: DateTime()}


class Record(Base):
    __tablename__ = "records"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    #: The latest published version (0 while a record has never been published).
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    visibility: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]
    #: The change sequence number of the last change to this record.
    seq: Mapped[int] = mapped_column(Integer, index=True)
    content: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64))
    available_langs: Mapped[list[str]]
    #: Incremented by every write (drafts included): the optimistic-concurrency token.
    revision: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        Index("ix_records_type_status_id", "type", "status", "id"),
        Index("ix_records_type_status_visibility_id", "type", "status", "visibility", "id"),
        Index("ix_records_type_updated", "type", "updated_at", "id"),
    )


class RecordVersion(Base):
    __tablename__ = "record_versions"

    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    visibility: Mapped[str] = mapped_column(String(32))
    content: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime]
    seq: Mapped[int] = mapped_column(Integer)


class Change(Base):
    __tablename__ = "changes"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(64), index=True)
    type: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    op: Mapped[str] = mapped_column(String(8))
    visibility: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]


class RecordTerm(Base):
    """One vocabulary code a record carries, under the name of the list filter that finds it."""

    __tablename__ = "record_terms"

    record_id: Mapped[str] = mapped_column(
        ForeignKey("records.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = (Index("ix_record_terms_name_value", "name", "value", "record_id"),)


class Rendition(Base):
    """A published version as responses show it, in one language (or ``*``): rendered when the
    version is written, so a read is a lookup. ``format`` names the rendering code that made it
    (:data:`schemas.render.RENDER_FORMAT`); one of another format is rendered again on read
    until ``flask renditions`` (run by ``flask seed``) refreshes it."""

    __tablename__ = "renditions"

    record_id: Mapped[str] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"),
                                           primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    lang: Mapped[str] = mapped_column(String(8), primary_key=True)
    format: Mapped[str] = mapped_column(String(32))
    etag: Mapped[str] = mapped_column(String(34))
    body: Mapped[str] = mapped_column(Text)


class SearchDoc(Base):
    """A record's searchable text in one language (SQLite indexes it with FTS5, PostgreSQL with
    a generated ``tsvector`` column; both are created by the migration)."""

    __tablename__ = "search_docs"

    #: An integer key, so SQLite's FTS5 index can point at rows by a stable rowid.
    doc_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"))
    lang: Mapped[str] = mapped_column(String(8))
    label: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ux_search_docs_record_lang", "record_id", "lang", unique=True),)


class ApiKey(Base):
    """An API key: only a SHA-256 hash of the secret is stored, next to a public prefix."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]]
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Who changed which record, when, to which version, and what changed."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(16))
    record_type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    changes: Mapped[dict[str, Any]]
    request_id: Mapped[str] = mapped_column(String(128))


class IdempotencyRecord(Base):
    """The first response to a POST sent with an ``Idempotency-Key``, replayed on retries."""

    __tablename__ = "idempotency_keys"

    actor: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    headers: Mapped[dict[str, Any]]
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class WriteLock(Base):
    """One row that every write transaction updates first, so writers queue up (SQLite)."""

    __tablename__ = "write_lock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    counter: Mapped[int] = mapped_column(Integer)
    #: Random, new with every change of a record (migration 0004): with the counter, a version
    #: that never comes back (not after a rebuild, nor after restoring a backup).
    epoch: Mapped[str] = mapped_column(String(32), server_default="")


class Proposal(Base):
    """A write that needs a second person (:mod:`schemas.approval`): the content it would
    publish, against which revision, by whom, and what became of it."""

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), index=True)
    record_type: Mapped[str] = mapped_column(String(32))
    #: The write proposed: ``replace``, ``patch`` or ``retire``.
    action: Mapped[str] = mapped_column(String(16))
    #: ``pending``, ``approved`` or ``rejected``.
    status: Mapped[str] = mapped_column(String(16), index=True)
    reasons: Mapped[list[str]]
    content: Mapped[dict[str, Any]]
    #: The record's revision and version it was proposed against (approval needs them current).
    base_revision: Mapped[int] = mapped_column(Integer)
    base_version: Mapped[int] = mapped_column(Integer)
    proposed_by: Mapped[str] = mapped_column(String(100))
    proposed_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    #: Why it was rejected.
    note: Mapped[str | None] = mapped_column(Text)
    published_version: Mapped[int | None] = mapped_column(Integer)


class Webhook(Base):
    """A subscription to the change feed (:mod:`api.services.delivery`): where to send which
    events, signed with its secret, and how far it has got (``cursor``, a change sequence
    number: every change up to it was delivered or not for it). Events are not stored: each is
    the change feed read after the cursor, as the owning key sees it."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: The API key that made it: what it may read decides what it is sent.
    owner: Mapped[str] = mapped_column(String(100), index=True)
    url: Mapped[str] = mapped_column(Text)
    types: Mapped[list[str]]
    events: Mapped[list[str]]
    description: Mapped[str | None] = mapped_column(Text)
    paused: Mapped[bool] = mapped_column(default=False)
    #: Set when deliveries stopped for good (a 410, three days of failures, the key revoked).
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    #: The signing secrets, encrypted (:mod:`api.storage.webhooks`); the previous one signs too
    #: until ``previous_until`` (a rotation's grace period).
    secret: Mapped[str] = mapped_column(Text)
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_until: Mapped[datetime | None]
    cursor: Mapped[int] = mapped_column(Integer)
    #: The failing event's attempts so far, when to try it next, since when it fails.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One attempt to deliver one event (or a queued resend, ``outcome`` ``queued``)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    #: The change it tells of (0: a test event).
    seq: Mapped[int] = mapped_column(Integer)
    #: ``webhook-id``: the same for every attempt at one event.
    event_id: Mapped[str] = mapped_column(String(80))
    event_type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str | None] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer)
    #: ``succeeded``, ``failed``, ``queued`` (a resend asked for) or ``gone`` (410).
    outcome: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None]
    error: Mapped[str | None] = mapped_column(Text)
    #: The start of the receiver's answer (at most 1 KB).
    response: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]
    next_attempt_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_webhook_deliveries_webhook_id", "webhook_id", "id"),
                      Index("ix_webhook_deliveries_outcome", "outcome", "webhook_id"),
                      Index("ix_webhook_deliveries_at", "at"))

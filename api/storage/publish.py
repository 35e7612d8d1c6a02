"""Publishing records: the only module that writes the record tables (a version, its
renditions, its change, its filter terms and search text, its audit entry)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    delete,
    text,
    update,
)
from sqlalchemy.orm import Session

from api.accel import writecount
from api.storage import renditions, stemming
from api.storage.clock import utcnow
from api.storage.db import VERSION_INFO
from api.storage.models import (
    AuditEntry,
    Change,
    Record,
    RecordTerm,
    RecordVersion,
    SearchDoc,
    WriteLock,
)
from api.storage.store import (
    CHANGED,
    PUBLISHED,
    RETIRED,
    WRITE_TICKET,
    WRITING,
    content_hash,
)
from schemas.params import FILTERS
from schemas.records import SCHEMAS, complete
from schemas.registry import REGISTRY
from schemas.render import available_languages, field_plan, localize
from schemas.vocabularies import VOCABULARIES

#: Fields whose strings are not prose and stay out of the search index.
UNSEARCHED = {"id", "url", "sources", "verified_on", "verification_status", "status",
              "visibility", "related", "contacts", "languages", "value", "field"}


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


def changes_between(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, Any]:
    """What the audit trail keeps of a change: ``{"from", "to"}`` by field that differs."""
    before = before or {}
    return {name: {"from": before.get(name), "to": after.get(name)}
            for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)}


def save(session: Session, record_type: str, content: dict[str, Any], *, actor: str,
         action: str, request_id: str = "", expected_revision: int | None = None,
         must_exist: bool | None = None, now: datetime | None = None,
         noted: dict[str, Any] | None = None) -> SaveResult:
    """Write ``content`` (validated, multilingual) as the record's new state; the caller commits.

    ``status`` decides what readers see: ``published`` and ``retired`` make a new version (kept
    for ever in ``record_versions``) and a change entry; ``draft`` stays out of every read (a
    published record moved back to draft leaves the feed as a delete). Identical content is a
    no-op. ``expected_revision`` guards against lost updates; ``must_exist`` True is an update,
    False a creation. Every real change is audited, with ``noted`` (more ``{"from", "to"}`` by
    name, such as the check a verification records).
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
    index_record(session, record_type, content)
    session.add(AuditEntry(at=now, actor=actor, action=action, record_type=record_type,
                           record_id=record_id, version=record.version, status=status,
                           changes={**changes_between(before, {**content, "status": status}),
                                    **(noted or {})},
                           request_id=request_id))
    return SaveResult(record, created=created, changed=True)


def verify(session: Session, record_type: str, record_id: str, check: dict[str, Any], *,
           actor: str, request_id: str, expected_revision: int, now: datetime) -> SaveResult:
    """Record a check of a published record: its ``verification_status`` becomes the check's
    ``status`` and ``verified_on`` today, a new version; audited with the check (``method``,
    ``source_url``, ``note``), also when the record was already so (checked again today)."""
    lock_writes(session)
    record = session.get(Record, record_id, populate_existing=True)
    if record is None or record.type != record_type:
        raise WriteConflict(404, f"No {record_type} has the id {record_id!r}.")
    if record.status != PUBLISHED:
        raise WriteConflict(409, f"{record_id} is {record.status}: only a published record is "
                                 "checked.")
    content = {**record.content, "verification_status": check["status"],
               "verified_on": now.date().isoformat()}
    noted = {"check": {"from": None, "to": check}}
    result = save(session, record_type, content, actor=actor, action="verify",
                  request_id=request_id, expected_revision=expected_revision, must_exist=True,
                  now=now, noted=noted)
    if not result.changed:
        session.add(AuditEntry(at=now, actor=actor, action="verify", record_type=record_type,
                               record_id=record_id, version=record.version, status=record.status,
                               changes=noted, request_id=request_id))
    return result


def index_record(session: Session, record_type: str, content: dict[str, Any]) -> None:
    """File a record's list-filter terms and search text (every language, and Spanish stems
    on SQLite) anew, from its content and the rules of this release."""
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

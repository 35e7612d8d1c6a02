"""Proposals: writes that wait for a second person (:mod:`schemas.approval`). Making one
publishes nothing; approving one publishes it through :func:`api.storage.publish.save` (so it
reaches the change feed then, and only then); every step is audited (``propose``, ``approve``,
``reject``).

A pending proposal made against an older revision than the record's current one is
``outdated``: it cannot be approved (the record changed under it), only rejected or proposed
again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from api.storage import publish
from api.storage.models import AuditEntry, Proposal, Record, RecordVersion
from api.storage.publish import WriteConflict, lock_writes
from api.storage.store import PUBLISHED, data_version
from schemas.records import load_content

PENDING, APPROVED, REJECTED, OUTDATED = "pending", "approved", "rejected", "outdated"
STATUSES = (PENDING, OUTDATED, APPROVED, REJECTED)


@dataclass(frozen=True)
class Shown:
    """A proposal and the record it is for (``status`` ``outdated`` derived)."""

    proposal: Proposal
    record: Record

    @property
    def status(self) -> str:
        if (self.proposal.status == PENDING
                and self.record.revision != self.proposal.base_revision):
            return OUTDATED
        return self.proposal.status


def on_screens(session: Session, record: Record) -> dict[str, Any] | None:
    """What readers see or last saw of ``record`` (its latest published or retired version's
    content, with its status and visibility, as this release's schema loads it), for
    :func:`schemas.approval.reasons_for`; None when it was never published."""
    if record.status == PUBLISHED:
        content, status, visibility = record.content, record.status, record.visibility
    elif record.version > 0:
        version = session.get(RecordVersion, (record.id, record.version))
        assert version is not None  # every version a record names is kept
        content, status, visibility = version.content, version.status, version.visibility
    else:
        return None
    try:  # content stored before a field had a default reads as this release writes it
        content = load_content(record.type, content)
    except ValidationError:
        pass
    return {**content, "status": status, "visibility": visibility}


def propose(session: Session, record: Record, content: dict[str, Any], action: str,
            reasons: list[str], *, actor: str, request_id: str, now: datetime) -> Proposal:
    """File a write to ``record`` for approval; the caller commits. Nothing is published."""
    proposal = Proposal(record_id=record.id, record_type=record.type, action=action,
                        status=PENDING, reasons=reasons, content=content,
                        base_revision=record.revision, base_version=record.version,
                        proposed_by=actor, proposed_at=now)
    session.add(proposal)
    session.flush()
    changes = publish.changes_between({**record.content, "status": record.status}, content)
    session.add(AuditEntry(at=now, actor=actor, action="propose", record_type=record.type,
                           record_id=record.id, version=record.version, status=record.status,
                           changes={**changes, "proposal": {"from": None, "to": proposal.id}},
                           request_id=request_id))
    return proposal


def decide(session: Session, proposal_id: int, approve: bool, *, actor: str,
           note: str | None, request_id: str, now: datetime) -> Shown:
    """Approve (publish) or reject a proposal; the caller commits. Refused (``WriteConflict``)
    when there is no such proposal (404), it is one's own (403), it was decided already, or,
    to approve, the record changed since it was proposed (409)."""
    lock_writes(session)
    proposal = session.get(Proposal, proposal_id, populate_existing=True)
    if proposal is None:
        raise WriteConflict(404, f"No proposal has the id {proposal_id}.")
    if proposal.proposed_by == actor:
        raise WriteConflict(403, "A proposal is approved or rejected by another key than the "
                                 f"one that made it ({proposal.proposed_by!r}).")
    record = session.get(Record, proposal.record_id, populate_existing=True)
    assert record is not None  # proposals are made for records that exist
    shown = Shown(proposal, record)
    if shown.status in (APPROVED, REJECTED):
        raise WriteConflict(409, f"Proposal {proposal_id} was {shown.status} already.")
    if approve and shown.status == OUTDATED:
        raise WriteConflict(409, f"{record.id} changed since proposal {proposal_id} was made "
                                 f"(revision {proposal.base_revision}, now {record.revision}): "
                                 "read it again and propose the change again.")
    decision = {"proposal": {"from": None, "to": {"id": proposal.id,
                                                 "proposed_by": proposal.proposed_by}}}
    if approve:
        result = publish.save(session, proposal.record_type, proposal.content, actor=actor,
                              action="approve", request_id=request_id,
                              expected_revision=proposal.base_revision, must_exist=True,
                              now=now, noted=decision)
        proposal.published_version = result.record.version
    else:
        decision["proposal"]["to"]["note"] = note
        session.add(AuditEntry(at=now, actor=actor, action="reject",
                               record_type=record.type, record_id=record.id,
                               version=record.version, status=record.status,
                               changes=decision, request_id=request_id))
    proposal.status = APPROVED if approve else REJECTED
    proposal.decided_by, proposal.decided_at, proposal.note = actor, now, note
    session.flush()
    return Shown(proposal, record)


def get(session: Session, proposal_id: int) -> Shown | None:
    found = session.execute(_shown().where(Proposal.id == proposal_id)).first()
    return None if found is None else Shown(*found)


def page(session: Session, visibilities: tuple[str, ...], *, status: str | None,
         record_id: str | None, after: int, limit: int) -> tuple[list[Shown], int]:
    """Proposals for records of these visibilities, oldest first, after id ``after``; and how
    many there are in all."""
    query = _shown().where(Record.visibility.in_(visibilities),
                           or_(Proposal.content["visibility"].as_string().is_(None),
                               Proposal.content["visibility"].as_string().in_(visibilities)))
    if record_id:
        query = query.where(Proposal.record_id == record_id)
    if status is not None:
        stored = PENDING if status == OUTDATED else status
        query = query.where(Proposal.status == stored)
        if status in (PENDING, OUTDATED):
            current = Proposal.base_revision == Record.revision
            query = query.where(current if status == PENDING else ~current)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.where(Proposal.id > after).order_by(Proposal.id).limit(limit))
    return [Shown(*row) for row in rows], total


def state(session: Session) -> tuple[Any, ...]:
    """What every list of proposals depends on: the proposals made and decided, and the data
    version (any write to a record, drafts included, changes a patch or makes one outdated)."""
    made, decided = session.execute(select(func.max(Proposal.id),
                                           func.count(Proposal.decided_at))).one()
    return (made, decided, *data_version(session))


def pending_records(session: Session) -> set[str]:
    """Ids of records with a proposal that can still be approved."""
    return set(session.scalars(
        select(Proposal.record_id).join(Record, and_(Record.id == Proposal.record_id,
                                                     Record.revision == Proposal.base_revision))
        .where(Proposal.status == PENDING)))


def _shown() -> Select[Any]:
    return select(Proposal, Record).join(Record, Record.id == Proposal.record_id)

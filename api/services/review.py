"""The review queue: the published records someone should check now, each with its reasons.

A record is due when its check ran out (``review_due``, its type's review interval after
``verified_on``, is today or past), when it was never checked, when it is ``unverified`` or
``disputed``, or when a change to it waits for a second person (a pending proposal). The oldest
come first: never checked, then by ``review_due``, then by id.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.storage.models import Record
from api.storage.store import PUBLISHED
from schemas.base import verification_status_of
from schemas.registry import REGISTRY
from schemas.render import review_due

#: Why a record is in the queue, in the order they are listed.
REASONS = {
    "never_checked": "Never checked: it has no `verified_on`.",
    "review_due": "Its check ran out: `review_due` is today or past.",
    "unverified": "Marked unverified.",
    "disputed": "Its own sources disagree on something it shows.",
    "proposal_pending": "A change to it waits for a second person's approval.",
}
#: ``review_due`` of a record never checked, for ordering: before every date.
NEVER = "0000-00-00"


@dataclass(frozen=True)
class Due:
    """One record in the queue."""

    record_id: str
    record_type: str
    verification_status: str
    verified_on: str | None
    review_due: str | None
    reasons: tuple[str, ...]

    @property
    def position(self) -> tuple[str, str]:
        """Where it comes in the queue."""
        return (self.review_due or NEVER, self.record_id)


def queue(session: Session, visibilities: Collection[str], today: date,
          pending: Collection[str] = ()) -> list[Due]:
    """Every published record of these visibilities that is due, oldest first; ``pending``:
    ids of records with a proposal waiting."""
    rows = session.execute(
        select(Record.id, Record.type, Record.content["verified_on"].as_string(),
               Record.content["verification_status"].as_string())
        .where(Record.status == PUBLISHED, Record.visibility.in_(list(visibilities))))
    out = []
    for record_id, record_type, verified_on, status in rows:
        status = status or verification_status_of({"verified_on": verified_on})
        due = review_due(record_type, verified_on)
        reasons = [reason for reason, applies in (
            ("never_checked", verified_on is None),
            ("review_due", due is not None and due <= today.isoformat()),
            ("unverified", status == "unverified"),
            ("disputed", status == "disputed"),
            ("proposal_pending", record_id in pending)) if applies]
        if reasons:
            out.append(Due(record_id, record_type, status, verified_on, due, tuple(reasons)))
    return sorted(out, key=lambda item: item.position)


def labels(session: Session, items: list[Due]) -> dict[str, str]:
    """The English label (name, title, statement) of each item's record, by id."""
    rows = session.execute(select(Record.id, Record.type, Record.content)
                           .where(Record.id.in_([item.record_id for item in items])))
    out = {}
    for record_id, record_type, content in rows:
        label: Any = content.get(REGISTRY[record_type].label, "")
        out[record_id] = label.get("en", "") if isinstance(label, dict) else str(label)
    return out

"""Search hits and sync results; the record classes are generated from the API's schemas into
``_records.py`` (``make sdk-types``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._records import MODELS, Record


@dataclass(frozen=True)
class SearchHit:
    type: str
    id: str
    version: int
    label: str
    snippet: str
    score: float
    link: str


@dataclass(frozen=True)
class SyncResult:
    """What a :meth:`Client.sync` changed in the mirror."""

    upserted: int
    deleted: int
    requests: int
    token: str


@dataclass(frozen=True)
class Proposal:
    """A write that waits for a second person (a published record's contact channels, a
    restricted record made public, a hotline taken off the screens): what a write answered
    with ``202 Accepted``, or :meth:`Client.proposal` reads. ``patch`` (RFC 6902) turns the
    record as it is now into what approving it would publish, while it waits."""

    id: int
    type: str
    record_id: str
    action: str
    status: str
    reasons: tuple[str, ...]
    proposed_by: str
    proposed_at: str
    base_version: int
    decided_by: str | None
    decided_at: str | None
    note: str | None
    published_version: int | None
    patch: list[dict[str, Any]] | None
    link: str
    record: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Proposal:
        known: dict[str, Any] = {name: data.get(name) for name in cls.__dataclass_fields__}
        known["reasons"] = tuple(data.get("reasons") or ())
        return cls(**known)


def record_from_dict(data: dict[str, Any]) -> Record:
    """The dataclass of the record's ``type``."""
    return MODELS.get(data.get("type", ""), Record).from_dict(data)

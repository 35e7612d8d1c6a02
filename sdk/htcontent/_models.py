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


def record_from_dict(data: dict[str, Any]) -> Record:
    """The dataclass of the record's ``type``."""
    return MODELS.get(data.get("type", ""), Record).from_dict(data)

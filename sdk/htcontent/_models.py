"""The SDK's models: the record classes (generated from the API's schemas into
``_records.py`` by ``make sdk-types``), search hits and sync results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._base import Model, Text, TextList
from ._records import (
    COLLECTION_TYPES,
    FILTER_FIELDS,
    MODELS,
    Channel,
    Conflict,
    Form,
    Hotline,
    Indicator,
    Record,
    ReliefOption,
    Resource,
    Source,
)

__all__ = [
    "COLLECTION_TYPES", "FILTER_FIELDS", "MODELS", "Channel", "Conflict", "Form", "Hotline",
    "Indicator", "Model", "Record", "ReliefOption", "Resource", "SearchHit", "Source",
    "SyncResult", "Text", "TextList", "record_from_dict",
]


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

"""The record shapes, by type: the registry's schemas (one module per type in
:mod:`schemas.types`), and the rules applied to any record's content.

These schemas validate seed files and editorial writes. Responses in one language are derived
from the same field definitions by :mod:`schemas.render`.
"""

from __future__ import annotations

from typing import Any

from . import types  # noqa: F401 - registers every record type
from .base import (
    SYSTEM_FIELDS,
    ConflictSchema,
    RecordSchema,
    SourceSchema,
    StrictSchema,
    verification_status_of,
)
from .registry import REGISTRY, Filter, RecordType
from .types.hotline import ChannelSchema, HotlineSchema
from .types.indicator import IndicatorSchema, nibrs_for
from .types.relief_option import FormSchema, ReliefOptionSchema
from .types.resource import ResourceSchema

__all__ = [
    "COLLECTIONS", "SCHEMAS", "SYSTEM_FIELDS", "ChannelSchema", "ConflictSchema", "Filter",
    "FormSchema", "HotlineSchema", "IndicatorSchema", "RecordSchema", "RecordType",
    "ReliefOptionSchema", "ResourceSchema", "SourceSchema", "StrictSchema", "complete",
    "load_content", "nibrs_for", "verification_status_of",
]

#: Every record type's schema by type name, and by collection (URL name): live views of
#: the registry.
SCHEMAS: dict[str, type[RecordSchema]] = REGISTRY.schemas
COLLECTIONS: dict[str, type[RecordSchema]] = REGISTRY.collections


def complete(record_type: str, content: dict[str, Any]) -> dict[str, Any]:
    """Stored content with the fields derived from it (one place for each rule), for content
    stored before a rule existed: the verification status, and what the type derives."""
    out = REGISTRY[record_type].derive(dict(content))
    out["verification_status"] = verification_status_of(content)
    return out


def load_content(record_type: str, raw: Any) -> dict[str, Any]:
    """Validate one record in the multilingual form; return its JSON-ready content.

    The content is everything an editor writes (the system fields ``status`` and ``visibility``
    included, ``version`` and the timestamps excluded). Raises ``ValidationError``.
    """
    schema = SCHEMAS[record_type]()
    loaded = schema.load(raw)
    content: dict[str, Any] = schema.dump(loaded)
    content.pop("type", None)
    return content

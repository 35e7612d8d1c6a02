"""Rendering stored records for responses: one language (with per-field English fallback) or all.

Walks the same schema fields that validate records, so the shape is defined once.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import Any

from marshmallow import Schema, fields

from .fields import DEFAULT_LANGUAGE, LANGUAGES, Text
from .records import SCHEMAS, SYSTEM_FIELDS, RecordSchema, complete
from .registry import REGISTRY

ALL_LANGUAGES = "*"




@cache
def field_plan(schema_cls: type[Schema]) -> tuple[tuple[str, str, Any], ...]:
    """(name, how, nested plan) per field: how is 'text', 'nested', 'nested_list' or 'plain'."""
    plan: list[tuple[str, str, Any]] = []
    for name, field in schema_cls._declared_fields.items():
        if isinstance(field, Text):
            plan.append((name, "text", None))
        elif isinstance(field, fields.Nested):
            plan.append((name, "nested", field_plan(type(field.schema))))
        elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
            plan.append((name, "nested_list", field_plan(type(field.inner.schema))))
        else:
            plan.append((name, "plain", None))
    return tuple(plan)


def localize(plan: tuple[tuple[str, str, Any], ...], doc: dict[str, Any], lang: str) -> dict:
    out: dict[str, Any] = {}
    for name, how, sub in plan:
        if name not in doc:
            continue
        value = doc[name]
        if how == "text":
            out[name] = value.get(lang) or value.get(DEFAULT_LANGUAGE)
        elif how == "nested":
            out[name] = localize(sub, value, lang)
        elif how == "nested_list":
            out[name] = [localize(sub, item, lang) for item in value]
        else:
            out[name] = value
    return out


def _languages(plan: tuple[tuple[str, str, Any], ...], doc: dict[str, Any], found: set) -> None:
    for name, how, sub in plan:
        value = doc.get(name)
        if value is None:
            continue
        if how == "text":
            found.update(value)
        elif how == "nested":
            _languages(sub, value, found)
        elif how == "nested_list":
            for item in value:
                _languages(sub, item, found)


def available_languages(record_type: str, content: dict[str, Any]) -> list[str]:
    """The languages the record's text is written in, English first."""
    found: set[str] = set()
    _languages(field_plan(SCHEMAS[record_type]), content, found)
    return [lang for lang in LANGUAGES if lang in found]


def render(
    record_type: str,
    content: dict[str, Any],
    system: dict[str, Any],
    lang: str,
    only: frozenset[str] | None = None,
) -> dict[str, Any]:
    """A record as a response shows it.

    ``content`` is the stored multilingual content, ``system`` the server-owned fields (id,
    version, timestamps...). ``lang`` is a language code or ``*``; ``only`` restricts the
    fields (``id``, ``type`` and ``version`` always come).
    """
    schema_cls: type[RecordSchema] = SCHEMAS[record_type]
    content = complete(record_type, content)
    body = content if lang == ALL_LANGUAGES else localize(field_plan(schema_cls), content, lang)
    out: dict[str, Any] = {
        "id": system["id"],
        "type": record_type,
        "version": system["version"],
        "status": system["status"],
        "visibility": system["visibility"],
        # The language the text is in: a record with no text in the language asked for is in
        # English, whatever was asked.
        "lang": lang if lang == ALL_LANGUAGES or lang in system["available_langs"]
        else DEFAULT_LANGUAGE,
        "available_langs": system["available_langs"],
        "created_at": system["created_at"],
        "updated_at": system["updated_at"],
    }
    if system.get("retired_at"):
        out["retired_at"] = system["retired_at"]
    for name, value in body.items():
        if name not in out and name not in ("id", "type"):
            out[name] = value
        if name == "verified_on":
            out["review_due"] = review_due(record_type, value)
    if only is not None:
        out = {k: v for k, v in out.items() if k in only or k in ("id", "type", "version")}
    return out


def review_due(record_type: str, verified_on: str | None) -> str | None:
    """The day a record's check runs out: ``verified_on`` plus its type's review interval
    (``None`` for a record never checked: its review is due now)."""
    if not verified_on:
        return None
    days = REGISTRY[record_type].review_days
    try:
        return (date.fromisoformat(verified_on) + timedelta(days=days)).isoformat()
    except OverflowError:  # a date stored before check dates had to be past ones
        return None


def record_field_names(record_type: str) -> list[str]:
    """Every top-level field a response of this type can carry (for ``fields=``)."""
    names = list(SYSTEM_FIELDS)
    names += [n for n in SCHEMAS[record_type]._declared_fields if n not in names]
    return names

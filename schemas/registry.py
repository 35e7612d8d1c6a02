"""The registry of record types: each type is declared once, in its own module under
:mod:`schemas.types`, and everything else looks it up here.

A declaration (:class:`RecordType`) names the type's schema (its fields, its ``TYPE`` and
``COLLECTION``), its list filters, its label field, how often it must be checked again, the
guidance its lists carry and the fields derived from its content. The views, the contract
(``openapi.yaml``), the search index, the seed loader, the exports and the SDK's generated
models and offline filters all follow from it. Adding a record type means writing its module
(schema + ``register(RecordType(...))``) and its seed file: ``docs/ARCHITECTURE.md`` shows how.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .base import RecordSchema
from .fields import References


@dataclass(frozen=True)
class Filter:
    """A list filter: query parameter ``param`` matches codes of ``vocabulary`` in ``path``.

    ``path`` is a top-level field, or ``field.subfield`` for a list of objects.
    """

    param: str
    path: str
    vocabulary: str

    def values(self, content: dict[str, Any]) -> set[str]:
        """The codes a record's content carries for this filter."""
        head, _, tail = self.path.partition(".")
        value = content.get(head)
        if value is None:
            return set()
        items = value if isinstance(value, list) else [value]
        if tail:
            return {item[tail] for item in items if tail in item}
        return set(items)


@dataclass(frozen=True)
class CsvExport:
    """A collection's spreadsheet form (``?format=csv``): its ``columns`` and the ``rows`` of
    one rendered record (dicts by column; ``link`` is added by the web layer); ``shape`` says
    in a few words what a row is, for the contract."""

    columns: tuple[str, ...]
    rows: Callable[[dict[str, Any]], list[dict[str, Any]]]
    shape: str
    filename: str


@dataclass(frozen=True)
class Via:
    """A list filter through records of another type: ``param`` names values of the field
    ``match`` of published ``through`` records, and the codes those records hold in ``codes``
    become values of this type's ``filter`` (``?apco_incident=TSTOP``: the settings the
    ``TSTOP`` call type maps to). ``choices`` are the values ``param`` accepts."""

    param: str
    through: str
    match: str
    codes: str
    filter: str
    choices: tuple[str, ...]
    description: str


#: Filters every collection offers.
COMMON_FILTERS = (Filter("verification_status", "verification_status", "verification_status"),)


def _unchanged(content: dict[str, Any]) -> dict[str, Any]:
    return content


@dataclass(frozen=True)
class RecordType:
    """One record type, as the rest of the system knows it.

    - ``schema``: its marshmallow schema (``TYPE``, ``COLLECTION``, the fields);
    - ``label``: the field that names a record (search hits, tables);
    - ``filters``: its list filters (the common ones are added);
    - ``review_days``: how long a check holds (``review_due`` = ``verified_on`` + this);
    - ``list_guidance``: texts (``{"en": ..., "es": ...}``) its lists carry in ``meta``;
    - ``derive``: fields derived from stored content, applied when a record is rendered or
      indexed (so content stored before a rule existed follows it too);
    - ``order``: where its collection comes in the index, the contract and exports (then by
      name), whatever order the modules are imported in;
    - ``csv``: its spreadsheet form, if it has one (:class:`CsvExport`);
    - ``hsds``: how its rendered records become Open Referral HSDS organizations (with their
      services), if they are services (``/api/v1/export/hsds``);
    - ``contact_fields``: fields that say how to reach someone (numbers, addresses, URLs,
      channel kinds, the hotlines named): changing them on a published record waits for a
      second person (:mod:`schemas.approval`);
    - ``withdrawal_needs_approval``: taking a published record off the screens (retired, or
      back to draft) waits for a second person too;
    - ``via``: list filters through records of another type (:class:`Via`).
    """

    schema: type[RecordSchema]
    label: str
    filters: tuple[Filter, ...] = ()
    review_days: int = 365
    list_guidance: tuple[dict[str, str], ...] | None = None
    derive: Callable[[dict[str, Any]], dict[str, Any]] = _unchanged
    order: int = 1000
    csv: CsvExport | None = None
    hsds: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None
    contact_fields: tuple[str, ...] = ()
    withdrawal_needs_approval: bool = False
    via: tuple[Via, ...] = ()
    all_filters: tuple[Filter, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "all_filters", (*self.filters, *COMMON_FILTERS))

    @property
    def name(self) -> str:
        return self.schema.TYPE

    @property
    def collection(self) -> str:
        return self.schema.COLLECTION

    @property
    def references(self) -> tuple[str, ...]:
        """Its fields that hold other records' ids (``related``...): each must name a record."""
        return tuple(name for name, declared in self.schema._declared_fields.items()
                     if isinstance(declared, References))


class Registry:
    """Every record type, by type name, in the order they were registered. The dicts it
    exposes are live: a type registered later appears in them too."""

    def __init__(self) -> None:
        self.types: dict[str, RecordType] = {}
        #: type name -> schema, collection (URL name) -> schema, type name -> list filters
        self.schemas: dict[str, type[RecordSchema]] = {}
        self.collections: dict[str, type[RecordSchema]] = {}
        self.filters: dict[str, tuple[Filter, ...]] = {}

    def register(self, record_type: RecordType) -> RecordType:
        """Add a record type; a name or collection already taken is an error. Its review
        interval is the one ``HTCONTENT_REVIEW_DAYS`` gives it, if it names the type."""
        name, collection = record_type.name, record_type.collection
        if not name or not collection:
            raise ValueError(f"{record_type.schema.__name__} needs TYPE and COLLECTION")
        if name in self.types or collection in self.collections:
            raise ValueError(f"record type {name!r} or collection {collection!r} is taken")
        if name in REVIEW_DAYS:
            record_type = dataclasses.replace(record_type, review_days=REVIEW_DAYS[name])
        ordered = sorted([*self.types.values(), record_type], key=lambda t: (t.order, t.name))
        for table, value in ((self.types, lambda t: t), (self.schemas, lambda t: t.schema),
                             (self.filters, lambda t: t.all_filters)):
            table.clear()  # in place: the dicts are live views others hold
            table.update((t.name, value(t)) for t in ordered)
        self.collections.clear()
        self.collections.update((t.collection, t.schema) for t in ordered)
        return record_type

    def __getitem__(self, name: str) -> RecordType:
        return self.types[name]


def review_days_from(setting: str) -> dict[str, int]:
    """``HTCONTENT_REVIEW_DAYS``: review intervals that replace the declared ones, as
    ``hotline=60,indicator=730`` (days, 1-3650)."""
    out: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in setting.split(","))):
        name, _, days = item.partition("=")
        if not days.strip().isdigit() or not 1 <= int(days) <= 3650:
            raise ValueError(f"HTCONTENT_REVIEW_DAYS: {item!r} is not TYPE=DAYS (1-3650), "
                             "e.g. hotline=60")
        out[name.strip()] = int(days)
    return out


#: Review intervals set for this deployment (part of what a rendered record depends on).
REVIEW_DAYS = review_days_from(os.environ.get("HTCONTENT_REVIEW_DAYS", ""))
REGISTRY = Registry()


def register(record_type: RecordType) -> RecordType:
    """Declare a record type (in its module under :mod:`schemas.types`)."""
    return REGISTRY.register(record_type)

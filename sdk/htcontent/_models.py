"""Records as frozen dataclasses. Translatable text is a ``str`` in one language, or a
``{"en": ..., "es": ...}`` mapping when the record was read with ``lang="*"``."""

from __future__ import annotations

import builtins
import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

Text = str | dict[str, str]
TextList = list[str] | dict[str, list[str]]
T = TypeVar("T", bound="Record")
#: Each record class's field names (``raw`` aside), worked out once per class.
_FIELD_NAMES: dict[type, frozenset[str]] = {}


@dataclass(frozen=True)
class Source:
    url: str
    title: str


@dataclass(frozen=True)
class Conflict:
    """Something a record's sources disagree on."""

    field: str
    note: Text


@dataclass(frozen=True)
class Record:
    """Fields every record carries."""

    id: str
    type: str
    version: int
    status: str = "published"
    visibility: str = "public"
    lang: str = "en"
    available_langs: tuple[str, ...] = ()
    created_at: str | None = None
    updated_at: str | None = None
    retired_at: str | None = None
    #: ``verified``, ``unverified`` or ``disputed`` (its sources disagree: see ``conflicts``).
    verification_status: str | None = None
    verified_on: str | None = None
    #: When the record is due to be checked again (None: never checked).
    review_due: str | None = None
    sources: tuple[Source, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    related: tuple[str, ...] = ()
    #: The record as the API sent it (for fields a newer API adds).
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls: builtins.type[T], data: dict[str, Any]) -> T:
        """Build from a response's ``data`` (unknown fields are kept in :attr:`raw` only)."""
        names = _FIELD_NAMES.get(cls)
        if names is None:
            names = _FIELD_NAMES[cls] = frozenset(f.name for f in dataclasses.fields(cls)) - {
                "raw"}
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name not in names:
                continue
            if name == "sources":
                value = tuple(Source(s["url"], s["title"]) for s in value)
            elif name == "channels":
                value = tuple(Channel.from_dict(c) for c in value)
            elif name == "conflicts":
                value = tuple(Conflict(c["field"], c["note"]) for c in value)
            elif name == "forms":
                value = tuple(Form(f["number"], f["title"]) for f in value)
            elif isinstance(value, list):
                value = tuple(value)
            values[name] = value
        return cls(**values, raw=data)


@dataclass(frozen=True)
class Resource(Record):
    title: Text = ""
    summary: Text | None = None
    kind: str = ""
    audiences: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    url: str = ""
    formats: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Indicator(Record):
    statement: Text = ""
    category: str = ""
    trafficking_types: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    nibrs_offenses: tuple[str, ...] = ()
    guidance: Text | None = None


@dataclass(frozen=True)
class Form:
    number: str
    title: Text


@dataclass(frozen=True)
class ReliefOption(Record):
    name: Text = ""
    short_name: Text | None = None
    summary: Text = ""
    requested_by: str = ""
    granted_by: Text | None = None
    duration: Text | None = None
    renewable: bool | None = None
    work_authorization: Text | None = None
    benefits: TextList | None = None
    eligibility: TextList | None = None
    forms: tuple[Form, ...] = ()
    legal_basis: Text | None = None
    contacts: tuple[str, ...] = ()
    notes: Text | None = None


@dataclass(frozen=True)
class Channel:
    kind: str
    value: str
    display: str | None = None
    keywords: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    hours: Text | None = None
    notes: Text | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Channel:
        return cls(kind=data["kind"], value=data["value"], display=data.get("display"),
                   keywords=tuple(data.get("keywords", ())),
                   languages=tuple(data.get("languages", ())),
                   hours=data.get("hours"), notes=data.get("notes"))


@dataclass(frozen=True)
class Hotline(Record):
    name: Text = ""
    alternate_names: tuple[str, ...] = ()
    organization: Text = ""
    purpose: str = ""
    audiences: tuple[str, ...] = ()
    available_24_7: bool | None = None
    service_area: Text | None = None
    channels: tuple[Channel, ...] = ()
    notes: Text | None = None


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


MODELS: dict[str, type[Record]] = {"resource": Resource, "indicator": Indicator,
                                   "relief_option": ReliefOption, "hotline": Hotline}


def record_from_dict(data: dict[str, Any]) -> Record:
    """The dataclass of the record's ``type``."""
    return MODELS.get(data.get("type", ""), Record).from_dict(data)

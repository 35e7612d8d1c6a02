"""Query parameters of the read endpoints, and the list filters each record type offers.

One marshmallow schema per endpoint family validates ``request.args`` (unknown parameters and
values are refused) and feeds the parameter list of ``openapi.yaml``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from .fields import ID_PATTERN, LANGUAGES, FullMatch, Line
from .records import SCHEMAS
from .registry import REGISTRY, Filter
from .render import ALL_LANGUAGES, record_field_names
from .vocabularies import codes

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
SORTS = ("id", "updated_at", "-updated_at")
LANG_CHOICES = (*LANGUAGES, ALL_LANGUAGES)


#: Each record type's list filters (live: from the registry).
FILTERS: dict[str, tuple[Filter, ...]] = REGISTRY.filters


class CommaList(fields.Field):
    """A comma-separated query value: ``setting=hotel,traffic_stop``."""

    def __init__(self, choices: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = choices

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise ValidationError("Must be a comma-separated list.")
        items = [item.strip() for item in value.split(",")]
        if not items or any(not item for item in items):
            raise ValidationError("Must be a comma-separated list without empty items.")
        bad = [item for item in items if item not in self.choices]
        if bad:
            raise ValidationError(
                f"Unknown value(s) {', '.join(map(repr, bad[:5]))}; "
                f"allowed: {', '.join(self.choices)}."
            )
        return list(dict.fromkeys(items))


class StrictArgs(Schema):
    class Meta:
        unknown = RAISE


def _limit() -> fields.Integer:
    return fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(1, MAX_LIMIT),
        metadata={"description": f"Page size, 1-{MAX_LIMIT}."},
    )


def _lang() -> fields.String:
    return fields.String(
        validate=validate.OneOf(LANG_CHOICES, error="Must be one of: {choices}."),
        metadata={"description": "Response language; `*` gives every language. "
                                 "Default: `Accept-Language`, else `en`."},
    )


LIST_CURSOR_PATTERN = r"^[iud]\.[0-9]{1,11}\.[a-z0-9][a-z0-9-]{1,63}$"
SEARCH_CURSOR_PATTERN = r"^o\.[0-9]{1,6}$"


def _cursor(pattern: str) -> fields.String:
    return fields.String(
        validate=FullMatch(pattern, error="Not a cursor issued by this API."),
        metadata={"description": "Where the page starts: `meta.next_cursor` of the previous "
                                 "page (the `next` link carries it). A cursor continues the "
                                 "order it was issued for."},
    )


def _q(**kwargs: Any) -> fields.String:
    return Line(max_length=200, metadata={"description": "Full-text query (English or Spanish)."},
                **kwargs)


def _types() -> CommaList:
    return CommaList(list(SCHEMAS), metadata={"description": "Record types (default: all)."})


class UtcDateTime(fields.AwareDateTime):
    """An RFC 3339 time with an offset, as UTC; times beyond year 1 or 9999 are clamped."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            edge = datetime.min if moment.year == 1 else datetime.max
            return edge.replace(tzinfo=UTC)


def list_args_schema(record_type: str) -> type[Schema]:
    """The query schema of ``GET /api/v1/{collection}`` for one record type."""
    attrs: dict[str, Any] = {
        "limit": _limit(),
        "cursor": _cursor(LIST_CURSOR_PATTERN),
        "lang": _lang(),
        "q": _q(),
        "fields": CommaList(
            record_field_names(record_type),
            metadata={"description": "Fields to return (id, type and version always come)."},
        ),
        "updated_since": UtcDateTime(
            default_timezone=None,
            metadata={"description": "Only records updated at or after this RFC 3339 time."},
        ),
        "sort": fields.String(
            load_default="id",
            validate=validate.OneOf(SORTS, error="Must be one of: {choices}."),
            metadata={"description": "Order of the list."},
        ),
    }
    export = REGISTRY[record_type].csv
    if export is not None:
        noun = SCHEMAS[record_type].TYPE.replace("_", " ")
        attrs["format"] = fields.String(
            load_default="json",
            validate=validate.OneOf(("json", "csv"), error="Must be one of: {choices}."),
            metadata={"description": f"`csv`: every matching {noun} in one spreadsheet-ready "
                                     f"file, {export.shape} (paging does not apply)."})
    for flt in FILTERS[record_type]:
        attrs[flt.param] = CommaList(
            codes(flt.vocabulary),
            metadata={"description": f"Records whose `{flt.path}` has any of these codes.",
                      "vocabulary": flt.vocabulary},
        )
    for via in REGISTRY[record_type].via:
        attrs[via.param] = CommaList(list(via.choices), metadata={"description": via.description})
    return StrictArgs.from_dict(attrs, name=f"{record_type.title().replace('_', '')}ListArgs")


CARD_SIZES = ("pocket", "letter")


def card_args_schema(record_type: str) -> type[Schema]:
    """The query schema of a printable card of ``record_type``: a language, a size and the
    filters its list takes."""
    attrs: dict[str, Any] = {
        "lang": fields.String(validate=validate.OneOf(LANGUAGES, error="Must be one of: "
                                                                       "{choices}."),
                              metadata={"description": "The card's language. Default: "
                                                       "`Accept-Language`, else `en`."}),
        "size": fields.String(load_default="pocket",
                              validate=validate.OneOf(CARD_SIZES, error="Must be one of: "
                                                                        "{choices}."),
                              metadata={"description": "`pocket` (4 x 6 in) or `letter`."}),
    }
    listed = LIST_ARGS[record_type]._declared_fields
    attrs.update({flt.param: listed[flt.param] for flt in FILTERS[record_type]})
    attrs.update({via.param: listed[via.param] for via in REGISTRY[record_type].via})
    name = record_type.title().replace("_", "")
    return StrictArgs.from_dict(attrs, name=f"{name}CardArgs")


def record_args_schema(record_type: str) -> type[Schema]:
    """The query schema of ``GET /api/v1/{collection}/{id}``."""
    return StrictArgs.from_dict(
        {
            "lang": _lang(),
            "fields": CommaList(
                record_field_names(record_type),
                metadata={"description": "Fields to return (id, type and version always come)."},
            ),
        },
        name=f"{record_type.title().replace('_', '')}RecordArgs",
    )


class SearchArgs(StrictArgs):
    q = _q(required=True)
    types = _types()
    lang = _lang()
    limit = _limit()
    cursor = _cursor(SEARCH_CURSOR_PATTERN)


AUDIT_CURSOR_PATTERN = r"^a\.[0-9]{1,9}$"  # within a 32-bit integer column
AUDIT_ACTIONS = ("create", "replace", "patch", "retire", "verify", "propose", "approve",
                 "reject", "seed")


class AuditArgs(StrictArgs):
    record_id = fields.String(validate=FullMatch(ID_PATTERN),
                              metadata={"description": "Only changes to this record."})
    type = fields.String(validate=validate.OneOf(list(SCHEMAS), error="Must be one of: {choices}."),
                         metadata={"description": "Only changes to records of this type."})
    actor = fields.String(validate=validate.Length(1, 100),
                          metadata={"description": "Only changes made with this key name."})
    action = fields.String(validate=validate.OneOf(AUDIT_ACTIONS,
                                                   error="Must be one of: {choices}."),
                           metadata={"description": "Only this kind of change."})
    since = UtcDateTime(default_timezone=None,
                                 metadata={"description": "Changes at or after this time."})
    until = UtcDateTime(default_timezone=None,
                                 metadata={"description": "Changes before this time."})
    limit = _limit()
    cursor = _cursor(AUDIT_CURSOR_PATTERN)


SYNC_TOKEN_PATTERN = r"^c\.[0-9]{1,9}$"  # within a 32-bit integer column


class ChangesArgs(StrictArgs):
    since = fields.String(
        validate=FullMatch(SYNC_TOKEN_PATTERN, error="Not a token issued by this API."),
        metadata={"description": "`meta.next_token` of the previous page, or the `sync_token` "
                                 "of an export. Absent: from the beginning."})
    types = _types()
    lang = _lang()
    limit = _limit()


class ExportArgs(StrictArgs):
    format = fields.String(load_default="json",
                           validate=validate.OneOf(("json", "ndjson"),
                                                   error="Must be one of: {choices}."),
                           metadata={"description": "`json`: one document; `ndjson`: a line of "
                                                    "metadata, then a line per record."})
    lang = _lang()


class HsdsArgs(StrictArgs):
    lang = fields.String(
        validate=validate.OneOf(LANGUAGES, error="Must be one of: {choices}."),
        metadata={"description": "Language of the text (HSDS has one language per record)."})


REVIEW_CURSOR_PATTERN = r"^r\.([0-9]{4}-[0-9]{2}-[0-9]{2})\.[a-z0-9][a-z0-9-]{1,63}$"


class ReviewArgs(StrictArgs):
    limit = _limit()
    cursor = _cursor(REVIEW_CURSOR_PATTERN)


class DiffArgs(StrictArgs):
    since = fields.Integer(
        data_key="from", validate=validate.Range(0, 2147483647),
        metadata={"description": "The version to compare with (default: the one before; `0`: "
                                 "nothing, so every field is added)."})


PROPOSAL_CURSOR_PATTERN = r"^p\.[0-9]{1,9}$"  # within a 32-bit integer column
PROPOSAL_STATUSES = ("pending", "outdated", "approved", "rejected")


class ProposalArgs(StrictArgs):
    status = fields.String(
        validate=validate.OneOf(PROPOSAL_STATUSES, error="Must be one of: {choices}."),
        metadata={"description": "Only proposals in this state (`outdated`: pending, but the "
                                 "record changed since; it cannot be approved)."})
    record_id = fields.String(validate=FullMatch(ID_PATTERN),
                              metadata={"description": "Only proposals for this record."})
    limit = _limit()
    cursor = _cursor(PROPOSAL_CURSOR_PATTERN)


WEBHOOK_CURSOR_PATTERN = r"^w\.wh_[0-9a-f]{16}$"
DELIVERY_CURSOR_PATTERN = r"^d\.[0-9]{1,9}$"  # within a 32-bit integer column


class WebhookArgs(StrictArgs):
    limit = _limit()
    cursor = _cursor(WEBHOOK_CURSOR_PATTERN)


class DeliveryArgs(StrictArgs):
    limit = _limit()
    cursor = _cursor(DELIVERY_CURSOR_PATTERN)


class RevisionArgs(StrictArgs):
    lang = _lang()


class NoArgs(StrictArgs):
    pass


class PerType(dict[str, type[Schema]]):
    """A query schema per record type, made the first time a type asks (so a type registered
    after this module was imported has one too)."""

    def __init__(self, make: Callable[[str], type[Schema]]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, record_type: str) -> type[Schema]:
        if record_type not in SCHEMAS:
            raise KeyError(record_type)
        made = self[record_type] = self._make(record_type)
        return made


LIST_ARGS = PerType(list_args_schema)
RECORD_ARGS = PerType(record_args_schema)

"""Hotlines and contacts: numbers, text lines, addresses and forms to reach."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from .. import hsds
from ..base import RecordSchema, StrictSchema
from ..fields import (
    EMAIL_PATTERN,
    LANGUAGE_TAG_PATTERN,
    PHONE_PATTERN,
    URL_PATTERN,
    Code,
    Codes,
    FullMatch,
    Line,
    Text,
    unique,
)
from ..registry import CsvExport, Filter, RecordType, register


class ChannelSchema(StrictSchema):
    kind = Code("channel_kind", required=True)
    value = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    display = Line(max_length=100)
    keywords = fields.List(
        Line(max_length=40),
        load_default=list,
        validate=validate.Length(max=10),
    )
    languages = fields.List(
        fields.String(validate=FullMatch(LANGUAGE_TAG_PATTERN)),
        load_default=list,
        validate=[validate.Length(max=50), unique],
    )
    hours = Text(max_length=200)
    notes = Text(max_length=1000)

    @validates_schema
    def _value_fits_kind(self, data: dict[str, Any], **kwargs: Any) -> None:
        kind, value = data.get("kind"), data.get("value")
        if not kind or not isinstance(value, str):
            return
        if kind in ("voice", "text", "tty", "video"):
            check: validate.Validator = FullMatch(
                PHONE_PATTERN,
                error="A number must be E.164 (+18883737888) or a short code (711, 233733).",
            )
        elif kind == "email":
            check = FullMatch(EMAIL_PATTERN, error="Not an email address.")
        else:
            check = FullMatch(URL_PATTERN, error="Not an http(s) URL.")
        try:
            check(value)
        except ValidationError as exc:
            raise ValidationError(exc.messages, "value") from exc


class HotlineSchema(RecordSchema):
    TYPE = "hotline"
    COLLECTION = "hotlines"

    name = Text(required=True, max_length=200)
    alternate_names = fields.List(Line(max_length=200), load_default=list,
                                  validate=[validate.Length(max=10), unique], metadata={
                                      "description": "Other names people use for it, in any "
                                                     "language (searchable)."})
    organization = Text(required=True, max_length=200)
    purpose = Code("hotline_purpose", required=True)
    audiences = Codes("audience")
    available_24_7 = fields.Boolean()
    service_area = Text(max_length=200)
    channels = fields.List(
        fields.Nested(ChannelSchema), required=True, validate=validate.Length(min=1, max=20)
    )
    notes = Text(max_length=2000)


#: The spreadsheet form: a row per channel, the hotline's fields repeated on each.
CSV_COLUMNS = ("id", "version", "name", "organization", "purpose", "available_24_7",
               "service_area", "channel_kind", "channel_value", "channel_display",
               "channel_keywords", "channel_languages", "channel_hours", "channel_notes",
               "notes", "verification_status", "verified_on", "review_due", "updated_at",
               "link")
_CHANNEL_FIELDS = ("kind", "value", "display", "keywords", "languages", "hours", "notes")
_HOTLINE_FIELDS = ("id", "version", "name", "organization", "purpose", "available_24_7",
                   "service_area", "notes", "verification_status", "verified_on", "review_due",
                   "updated_at")


def csv_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A rendered hotline as spreadsheet rows: one per channel."""
    base = {name: record.get(name) for name in _HOTLINE_FIELDS}
    return [{**base, **{f"channel_{name}": channel.get(name) for name in _CHANNEL_FIELDS}}
            for channel in record.get("channels", [])]


HOTLINE = register(RecordType(
    schema=HotlineSchema,
    label="name",
    filters=(Filter("purpose", "purpose", "hotline_purpose"),
             Filter("audience", "audiences", "audience"),
             Filter("channel", "channels.kind", "channel_kind")),
    review_days=90,
    order=40,
    csv=CsvExport(columns=CSV_COLUMNS, rows=csv_rows, shape="a row per channel",
                  filename="hotlines.csv"),
    hsds=hsds.organizations,
    contact_fields=("channels",),
    withdrawal_needs_approval=True,
))

"""The record shapes: one marshmallow schema per record type, in the multilingual (``lang=*``) form.

These schemas validate seed files and (later) editorial writes. Responses in one language are
derived from the same field definitions by :mod:`schemas.render`.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from .fields import (
    EMAIL_PATTERN,
    LANGUAGE_TAG_PATTERN,
    PHONE_PATTERN,
    URL_PATTERN,
    Code,
    Codes,
    FullMatch,
    Id,
    Line,
    Text,
    TextList,
    Url,
    unique,
)

#: Fields the server owns: present in every response, never written by a client.
SYSTEM_FIELDS = (
    "id",
    "type",
    "version",
    "status",
    "visibility",
    "lang",
    "available_langs",
    "created_at",
    "updated_at",
    "retired_at",
)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class SourceSchema(StrictSchema):
    url = Url(required=True)
    title = Line(max_length=300, required=True)


class RecordSchema(StrictSchema):
    """Fields every record carries. ``TYPE`` names the record type of a subclass."""

    TYPE = ""
    COLLECTION = ""

    id = Id(required=True)
    type = fields.String(validate=validate.Length(max=32))
    status = Code("status", load_default="published")
    visibility = Code("visibility", load_default="public")
    verified_on = fields.Date(required=True)
    sources = fields.List(
        fields.Nested(SourceSchema), required=True, validate=validate.Length(min=1, max=20)
    )
    related = fields.List(Id(), load_default=list, validate=[validate.Length(max=50), unique])

    @validates_schema
    def _type_matches(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "type" in data and data["type"] != self.TYPE:
            raise ValidationError(f"Must be {self.TYPE!r} in this collection.", "type")


class ResourceSchema(RecordSchema):
    TYPE = "resource"
    COLLECTION = "resources"

    title = Text(required=True, max_length=300)
    summary = Text(max_length=2000)
    kind = Code("resource_kind", required=True)
    audiences = Codes("audience")
    topics = Codes("topic")
    url = Url(required=True)
    formats = Codes("resource_format")
    languages = fields.List(
        fields.String(validate=FullMatch(LANGUAGE_TAG_PATTERN)),
        load_default=list,
        validate=[validate.Length(max=50), unique],
    )


class IndicatorSchema(RecordSchema):
    TYPE = "indicator"
    COLLECTION = "indicators"

    statement = Text(required=True, max_length=500)
    category = Code("indicator_category", required=True)
    trafficking_types = Codes("trafficking_type")
    settings = Codes("setting")
    nibrs_offenses = Codes("nibrs_offense")
    guidance = Text(max_length=1000)


class FormSchema(StrictSchema):
    number = Line(max_length=40, required=True)
    title = Text(required=True, max_length=300)


class ReliefOptionSchema(RecordSchema):
    TYPE = "relief_option"
    COLLECTION = "relief-options"

    name = Text(required=True, max_length=200)
    short_name = Text(max_length=40)
    summary = Text(required=True, max_length=2000)
    requested_by = Code("requested_by", required=True)
    granted_by = Text(max_length=300)
    duration = Text(max_length=500)
    renewable = fields.Boolean()
    work_authorization = Text(max_length=500)
    benefits = TextList()
    eligibility = TextList()
    forms = fields.List(fields.Nested(FormSchema), load_default=list,
                        validate=validate.Length(max=20))
    legal_basis = Text(max_length=500)
    contacts = fields.List(Id(), load_default=list, validate=[validate.Length(max=20), unique])
    notes = Text(max_length=2000)


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
        if kind in ("voice", "text", "tty"):
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
    organization = Text(required=True, max_length=200)
    purpose = Code("hotline_purpose", required=True)
    audiences = Codes("audience")
    available_24_7 = fields.Boolean()
    service_area = Text(max_length=200)
    channels = fields.List(
        fields.Nested(ChannelSchema), required=True, validate=validate.Length(min=1, max=20)
    )
    notes = Text(max_length=2000)


SCHEMAS: dict[str, type[RecordSchema]] = {
    schema.TYPE: schema
    for schema in (ResourceSchema, IndicatorSchema, ReliefOptionSchema, HotlineSchema)
}
COLLECTIONS: dict[str, type[RecordSchema]] = {
    schema.COLLECTION: schema for schema in SCHEMAS.values()
}


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

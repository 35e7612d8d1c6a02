"""The record shapes: one marshmallow schema per record type, in the multilingual (``lang=*``) form.

These schemas validate seed files and (later) editorial writes. Responses in one language are
derived from the same field definitions by :mod:`schemas.render`.
"""

from __future__ import annotations

from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

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
    "review_due",
)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class SourceSchema(StrictSchema):
    url = Url(required=True)
    title = Line(max_length=300, required=True)


class ConflictSchema(StrictSchema):
    """Something the record's own sources disagree on: which field, and what each says."""

    field = Line(max_length=100, required=True)
    note = Text(required=True, max_length=1000)


class RecordSchema(StrictSchema):
    """Fields every record carries. ``TYPE`` names the record type of a subclass.

    ``REVIEW_DAYS`` is how long a check holds: ``review_due`` is ``verified_on`` plus that.
    """

    TYPE = ""
    COLLECTION = ""
    REVIEW_DAYS = 365

    id = Id(required=True)
    type = fields.String(validate=validate.Length(max=32))
    status = Code("status", load_default="published")
    visibility = Code("visibility", load_default="public")
    verification_status = Code("verification_status", metadata={
        "description": "`verified`: checked against its sources on `verified_on`; "
                       "`unverified`: not checked, or not confirmable; `disputed`: its own "
                       "sources disagree on something it shows (see `conflicts`). Default: "
                       "`verified` with a `verified_on`, else `unverified`."})
    verified_on = fields.Date(load_default=None, allow_none=True, metadata={
        "description": "The day an editor last checked the record against its sources "
                       "(null: never)."})
    sources = fields.List(
        fields.Nested(SourceSchema), required=True, validate=validate.Length(min=1, max=20)
    )
    conflicts = fields.List(fields.Nested(ConflictSchema), load_default=list,
                            validate=validate.Length(max=20), metadata={
                                "description": "What the record's sources disagree on: the "
                                               "field, and what each source says."})
    related = fields.List(Id(), load_default=list, validate=[validate.Length(max=50), unique])

    @validates_schema
    def _type_matches(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "type" in data and data["type"] != self.TYPE:
            raise ValidationError(f"Must be {self.TYPE!r} in this collection.", "type")

    @validates_schema
    def _verified_has_date(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("verification_status") == "verified" and data.get("verified_on") is None:
            raise ValidationError("A verified record needs `verified_on`, the day it was "
                                  "checked.", "verified_on")

    @post_load
    def _default_verification(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        # Not written: a record with a check date is verified, one without is not.
        data["verification_status"] = verification_status_of(data)
        return data


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
    nibrs_offenses = Codes("nibrs_offense", metadata={
        "derived": True,
        "description": "Related NIBRS offense codes, derived from `trafficking_types` (sex: "
                       "64A, labor: 64B), for reference only: not a coding decision. Writers "
                       "leave it out (or send the derived codes)."})
    guidance = Text(max_length=1000)

    @pre_load
    def _nibrs_matches(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict) and "nibrs_offenses" in data:
            types = data.get("trafficking_types") or []
            given = data["nibrs_offenses"]
            if (isinstance(types, list) and isinstance(given, list)
                    and all(isinstance(t, str) for t in types)
                    and sorted(map(str, given)) != nibrs_for(types)):
                raise ValidationError(
                    "Derived from `trafficking_types` (sex: 64A, labor: 64B); leave it out, "
                    f"or send {nibrs_for(types)}.", "nibrs_offenses")
        return data

    @post_load
    def _derive_nibrs(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["nibrs_offenses"] = nibrs_for(data.get("trafficking_types", []))
        return data


#: The related NIBRS offense code of each trafficking type: the one place they are decided.
NIBRS_BY_TRAFFICKING_TYPE = {"sex": "64A", "labor": "64B"}


def nibrs_for(trafficking_types: list[Any]) -> list[str]:
    """The related NIBRS offense codes of an indicator's trafficking types, in code order."""
    return sorted({NIBRS_BY_TRAFFICKING_TYPE[t] for t in trafficking_types
                   if isinstance(t, str) and t in NIBRS_BY_TRAFFICKING_TYPE})


class FormSchema(StrictSchema):
    number = Line(max_length=40, required=True)
    title = Text(required=True, max_length=300)


class ReliefOptionSchema(RecordSchema):
    TYPE = "relief_option"
    COLLECTION = "relief-options"
    REVIEW_DAYS = 180

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
    REVIEW_DAYS = 90

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


SCHEMAS: dict[str, type[RecordSchema]] = {
    schema.TYPE: schema
    for schema in (ResourceSchema, IndicatorSchema, ReliefOptionSchema, HotlineSchema)
}
COLLECTIONS: dict[str, type[RecordSchema]] = {
    schema.COLLECTION: schema for schema in SCHEMAS.values()
}


def verification_status_of(content: dict[str, Any]) -> str:
    """A record's verification status; content written before the field existed is verified
    when it carries a check date."""
    status = content.get("verification_status")
    if status:
        return str(status)
    return "verified" if content.get("verified_on") else "unverified"


def complete(record_type: str, content: dict[str, Any]) -> dict[str, Any]:
    """Stored content with the fields derived from it (one place for each rule), for content
    stored before a rule existed: the verification status, an indicator's NIBRS codes."""
    out = dict(content)
    out["verification_status"] = verification_status_of(content)
    if record_type == IndicatorSchema.TYPE:
        out["nibrs_offenses"] = nibrs_for(content.get("trafficking_types", []))
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

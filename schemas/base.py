"""What every record type is built on: the fields every record carries, the server-owned
fields, and the rules of verification. Each record type adds its own fields in its module
under :mod:`schemas.types`."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from .fields import Code, Id, Line, References, Text, Url

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


def _not_future(day: date) -> None:
    """A check date is a day that has come (a day of slack for time zones)."""
    if day > date.today() + timedelta(days=1):
        raise ValidationError("A check date cannot be in the future.")


class ConflictSchema(StrictSchema):
    """Something the record's own sources disagree on: which field, and what each says."""

    field = Line(max_length=100, required=True)
    note = Text(required=True, max_length=1000)


class CheckSchema(StrictSchema):
    """A check of a record against the world (``POST .../verification``): what it found, how,
    where, and a note."""

    status = Code("verification_status", required=True, metadata={
        "description": "What the check found: `verified`, `unverified` (could not confirm), or "
                       "`disputed` (its sources disagree on something it shows)."})
    method = Line(max_length=200, required=True, metadata={
        "description": "How it was checked: \"called the number\", \"read the source page\"."})
    source_url = Url(metadata={"description": "The page or document the check read."})
    note = Line(max_length=1000, metadata={"description": "Anything the next reviewer should "
                                                           "know."})


class RecordSchema(StrictSchema):
    """Fields every record carries. ``TYPE`` names the record type of a subclass.

    """

    TYPE = ""
    COLLECTION = ""

    id = Id(required=True)
    type = fields.String(validate=validate.Length(max=32))
    status = Code("status", load_default="published")
    visibility = Code("visibility", load_default="public")
    verification_status = Code("verification_status", metadata={
        "description": "`verified`: checked against its sources on `verified_on`; "
                       "`unverified`: not checked, or not confirmable; `disputed`: its own "
                       "sources disagree on something it shows (see `conflicts`). Default: "
                       "`verified` with a `verified_on`, else `unverified`."})
    verified_on = fields.Date(load_default=None, allow_none=True, validate=_not_future, metadata={
        "description": "The day an editor last checked the record against its sources "
                       "(null: never); not later than today."})
    sources = fields.List(
        fields.Nested(SourceSchema), required=True, validate=validate.Length(min=1, max=20)
    )
    conflicts = fields.List(fields.Nested(ConflictSchema), load_default=list,
                            validate=validate.Length(max=20), metadata={
                                "description": "What the record's sources disagree on: the "
                                               "field, and what each source says."})
    related = References(50)

    @validates_schema
    def _type_matches(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "type" in data and data["type"] != self.TYPE:
            raise ValidationError(f"Must be {self.TYPE!r} in this collection.", "type")

    @validates_schema
    def _verified_has_date(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("verification_status") == "verified" and data.get("verified_on") is None:
            raise ValidationError("A verified record needs `verified_on`, the day it was "
                                  "checked.", "verified_on")



def verification_status_of(content: dict[str, Any]) -> str:
    """A record's verification status; content written before the field existed is verified
    when it carries a check date."""
    status = content.get("verification_status")
    if status:
        return str(status)
    return "verified" if content.get("verified_on") else "unverified"

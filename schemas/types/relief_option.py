"""Immigration relief options for victims: Continued Presence, T visa, U visa."""

from __future__ import annotations

from marshmallow import fields, validate

from ..base import RecordSchema, StrictSchema
from ..fields import Code, Line, References, Text, TextList
from ..registry import Filter, RecordType, register


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
    contacts = References(20)
    notes = Text(max_length=2000)


RELIEF_OPTION = register(RecordType(
    schema=ReliefOptionSchema,
    label="name",
    filters=(Filter("requested_by", "requested_by", "requested_by"),),
    review_days=180,
    contact_fields=("contacts",),
    order=30,
))

"""Dispatch call types: a sourced, editable crosswalk from the APCO common incident types
(:mod:`schemas.apco`), which CAD systems map their own call types to, to the settings where
officers meet trafficking indicators. ``GET /api/v1/indicators?apco_incident=TSTOP`` lists the
indicators of the settings a call type maps to; the SDK resolves an agency's own call-type
codes through it (``client.indicators.for_call_type``)."""

from __future__ import annotations

from marshmallow import fields, validate

from ..apco import INCIDENT_TYPES
from ..base import RecordSchema
from ..fields import Code, Text, unique
from ..registry import Filter, RecordType, register


class CallTypeSchema(RecordSchema):
    TYPE = "call_type"
    COLLECTION = "call-types"

    apco_code = fields.String(
        required=True, validate=validate.OneOf(list(INCIDENT_TYPES),
                                               error="Not an APCO incident type code."),
        metadata={"description": "The APCO ANS 2.103.1 incident type code (`TSTOP`...)."})
    name = Text(required=True, max_length=200)
    definition = Text(max_length=1000)
    settings = fields.List(Code("setting"), required=True,
                           validate=[validate.Length(min=1, max=20), unique],
                           metadata={"description": "The settings whose indicators apply to "
                                                    "a call of this type."})
    notes = Text(max_length=2000)


CALL_TYPE = register(RecordType(
    schema=CallTypeSchema,
    label="name",
    filters=(Filter("setting", "settings", "setting"),),
    review_days=365,
    order=50,
))

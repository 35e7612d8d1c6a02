"""Resources: guides, trainings, pocket cards, videos, webinars and the like."""

from __future__ import annotations

from marshmallow import fields, validate

from ..base import RecordSchema
from ..fields import LANGUAGE_TAG_PATTERN, Code, Codes, FullMatch, Text, Url, unique
from ..registry import Filter, RecordType, register


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


RESOURCE = register(RecordType(
    schema=ResourceSchema,
    label="title",
    filters=(Filter("kind", "kind", "resource_kind"),
             Filter("audience", "audiences", "audience"),
             Filter("topic", "topics", "topic")),
    order=10,
))

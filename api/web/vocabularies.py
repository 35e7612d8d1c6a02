"""``GET /api/v1/vocabularies``: every controlled vocabulary, labelled in English and Spanish."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_restx import Namespace, Resource
from marshmallow import fields as mfields

from api.storage import db, store
from api.web.contract import (
    CONDITIONAL,
    REF,
    Contract,
    get_op,
    not_modified_response,
    ok,
    problems,
)
from api.web.http import cached_json, current_viewer, parse_args
from schemas.params import FILTERS, NoArgs
from schemas.records import SCHEMAS
from schemas.vocabularies import DESCRIPTIONS, VOCABULARIES

ns = Namespace("vocabularies", path="/vocabularies", description="Controlled vocabularies")


def _field_paths(schema_cls: Any, prefix: str, out: dict[str, list[str]]) -> None:
    for name, field in schema_cls._declared_fields.items():
        vocabulary = field.metadata.get("vocabulary")
        if vocabulary:
            out.setdefault(vocabulary, []).append(prefix + name)
        inner = field.inner if isinstance(field, mfields.List) else field
        if isinstance(inner, mfields.Nested):
            _field_paths(type(inner.schema), f"{prefix}{name}.", out)


def vocabulary_fields() -> dict[str, list[str]]:
    """Which record fields (``type.field``) take codes from each vocabulary."""
    out: dict[str, list[str]] = {}
    for record_type, schema_cls in SCHEMAS.items():
        _field_paths(schema_cls, f"{record_type}.", out)
    return out


def vocabularies_body(counts: dict[tuple[str, str, str], int]) -> dict[str, Any]:
    used_by = vocabulary_fields()
    data = []
    for name, terms in VOCABULARIES.items():
        filters = sorted({flt.param for flts in FILTERS.values() for flt in flts
                          if flt.vocabulary == name})
        users = [(record_type, flt.param) for record_type, flts in FILTERS.items()
                 for flt in flts if flt.vocabulary == name]
        data.append({
            "name": name,
            "description": {"en": DESCRIPTIONS[name].en, "es": DESCRIPTIONS[name].es},
            "filters": filters,
            "fields": used_by.get(name, []),
            "terms": [
                {
                    "code": term.code,
                    "labels": {"en": term.en, "es": term.es},
                    "counts": {record_type: counts.get((record_type, param, term.code), 0)
                               for record_type, param in users},
                }
                for term in terms
            ],
        })
    return {"data": data}


@ns.route("", endpoint="vocabularies")
class Vocabularies(Resource):
    def get(self) -> Response:
        parse_args(NoArgs)
        viewer = current_viewer()
        session = db.session()
        seq, at = store.state(session)
        return cached_json(
            seq, at, None, lambda: vocabularies_body(store.term_counts(session, viewer)), viewer)


# ------------------------------------------------------------------------ the contract

def contract(doc: Contract) -> None:
    """The vocabularies operation and its shape, for ``openapi.yaml``."""
    components_schemas, paths = doc.schemas, doc.paths
    components_schemas["Vocabularies"] = {
        "type": "object", "required": ["data"],
        "properties": {"data": {"type": "array", "items": {
            "type": "object", "required": ["name", "description", "filters", "fields", "terms"],
            "properties": {
                "name": {"type": "string"},
                "description": {"$ref": REF + "TextTranslations"},
                "filters": {"type": "array", "items": {"type": "string"},
                            "description": "List filters (query parameters) taking these codes."},
                "fields": {"type": "array", "items": {"type": "string"},
                           "description": "Record fields (`type.field`) holding these codes."},
                "terms": {"type": "array", "items": {
                    "type": "object", "required": ["code", "labels", "counts"],
                    "properties": {
                        "code": {"type": "string"},
                        "labels": {"$ref": REF + "TextTranslations"},
                        "counts": {"type": "object",
                                   "additionalProperties": {"type": "integer", "minimum": 0},
                                   "description": "Visible records carrying the code, by type."},
                    },
                    "additionalProperties": False,
                }},
            },
            "additionalProperties": False,
        }}},
        "additionalProperties": False,
    }
    paths["/api/v1/vocabularies"] = get_op(
        "listVocabularies", "Every controlled vocabulary", "vocabularies", CONDITIONAL[:1],
        {"200": ok("Vocabularies", "Codes with English and Spanish labels.", language=False),
         "304": not_modified_response(), **problems("BadRequest")},
        description="Every controlled vocabulary: its codes with English and Spanish labels, "
                    "the list filters and record fields that take them, and how many visible "
                    "records carry each code, so a CAD or RMS can build its pick-lists.",
    )

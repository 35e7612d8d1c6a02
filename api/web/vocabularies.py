"""``GET /api/v1/vocabularies``: every controlled vocabulary, labelled in English and Spanish."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_restx import Namespace, Resource
from marshmallow import fields as mfields

from api.storage import db, store
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

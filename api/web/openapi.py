"""Builds ``openapi.yaml`` (OpenAPI 3.1) from the code: each view module declares its operations
and shapes beside its views (``contract(doc)``, written with :mod:`api.web.contract`), record
shapes come from the marshmallow schemas through apispec, parameters from the query-argument
schemas, vocabularies from the one vocabulary table.

``flask --app api openapi`` writes the file; a test fails when the committed file differs, so the
contract and the code cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from api.web import (
    audit,
    cards,
    embed,
    meta,
    proposals,
    records,
    review,
    revisions,
    search,
    sync,
    vocabularies,
    webhooks,
)
from api.web.contract import HEADERS, PROBLEMS, Contract, meta_page, page_links
from api.web.meta import API_VERSION
from schemas.fields import LANGUAGES

OPENAPI_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
#: The modules that declare operations, in the order of the contract's paths.
DECLARING = (meta.index_contract, records.contract, revisions.contract, search.contract,
             vocabularies.contract, sync.contract, review.contract, proposals.contract,
             webhooks.contract, cards.contract, audit.contract, embed.contract,
             meta.ops_contract)


def build() -> dict[str, Any]:
    """The whole OpenAPI document."""
    doc = Contract()
    doc.schemas.update({
        "TextTranslations": {
            "type": "object", "required": ["en"],
            "properties": {lang: {"type": "string"} for lang in LANGUAGES},
            "additionalProperties": False,
            "description": "Text in each language (`lang=*`); English is always present.",
        },
        "TextListTranslations": {
            "type": "object", "required": ["en"],
            "properties": {lang: {"type": "array", "items": {"type": "string"}}
                           for lang in LANGUAGES},
            "additionalProperties": False,
        },
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details.",
            "required": ["type", "title", "status", "detail", "instance", "request_id"],
            "properties": {
                "type": {"type": "string", "format": "uri-reference"},
                "title": {"type": "string"},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
                "request_id": {"type": "string"},
                "errors": {"type": "object",
                           "description": "Messages by parameter or field.",
                           "additionalProperties": True},
                "retired_at": {"type": "string", "format": "date-time"},
            },
            "additionalProperties": False,
        },
        "PageMeta": meta_page(),
        "PageLinks": page_links(),
    })
    for declare in DECLARING:
        declare(doc)
    components_schemas, tags, paths = doc.schemas, doc.tags, doc.paths
    components_schemas.update(doc.conv.shapes())
    headers = dict(HEADERS)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "HT Content API",
            "version": API_VERSION,
            "summary": "Law-enforcement anti-human-trafficking content as versioned, sourced "
                       "records, in English and Spanish.",
            "description": (
                "Resources, trafficking indicators, immigration relief options and hotlines "
                "for dispatch (CAD) and records (RMS) systems, partner websites and editors.\n\n"
                "Every GET answers with a strong `ETag` (send it back in `If-None-Match` for a "
                "304), `Last-Modified`, `Cache-Control` and `X-Request-ID`. Every error is an "
                "RFC 9457 `application/problem+json` document. Text comes in the language of "
                "`lang` (or `Accept-Language`), falling back to English per field; `lang=*` "
                "returns every language."),
            "license": {"name": "MIT", "identifier": "MIT"},
            "contact": {"name": "HT Content API maintainers"},
        },
        "servers": [{"url": "/", "description": "This API, where this document is served."}],
        "tags": [{"name": "meta"}, *tags, {"name": "search"}, {"name": "vocabularies"},
                 {"name": "sync"}, {"name": "audit"}, {"name": "operations"}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components_schemas.items())),
            "responses": PROBLEMS,
            "headers": headers,
            "securitySchemes": {
                "bearerKey": {"type": "http", "scheme": "bearer",
                              "description": "An API key: `Authorization: Bearer htc_...`."},
                "headerKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                              "description": "The same key in `X-API-Key`."},
            },
        },
    }


class _Dumper(yaml.SafeDumper):
    """Plain YAML: no anchors or aliases, tuples as lists."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_Dumper.add_representer(tuple, lambda dumper, data: dumper.represent_list(list(data)))


def render_yaml() -> str:
    header = ("# The HT Content API contract. Generated from the code by `flask --app api openapi`;"
              "\n# do not edit by hand (a test fails when this file and the code disagree).\n")
    return header + yaml.dump(build(), Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                              width=100)


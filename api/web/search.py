"""``GET /api/v1/search``: ranked hits across every record type."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_restx import Namespace, Resource

from api.storage import db, store
from api.storage import search as search_engine
from api.web.contract import (
    CONDITIONAL,
    Contract,
    get_op,
    not_modified_response,
    ok,
    page_of,
    problems,
)
from api.web.errors import bad_request
from api.web.http import (
    cached_json,
    current_viewer,
    negotiate_language,
    page_url,
    parse_args,
    record_url,
)
from schemas.fields import ID_PATTERN
from schemas.params import SearchArgs
from schemas.records import SCHEMAS

ns = Namespace("search", path="/search", description="Full-text search across all records")


@ns.route("", endpoint="search")
class Search(Resource):
    def get(self) -> Response:
        args = parse_args(SearchArgs)
        lang = negotiate_language(args.get("lang"))
        label_lang = "en" if lang == "*" else lang
        viewer = current_viewer()
        session = db.session()
        seq, at = store.state(session)

        def build() -> dict[str, Any]:
            try:
                hits, total, next_cursor = search_engine.search(
                    session, args["q"], args.get("types"), viewer, args["limit"],
                    args.get("cursor"), label_lang)
            except store.CursorError as exc:
                raise bad_request({"cursor": [str(exc)]}) from exc
            data = [{
                "type": hit.type,
                "id": hit.id,
                "version": hit.version,
                "label": hit.label,
                "snippet": search_engine.snippet(hit.body or hit.label, args["q"]),
                "score": round(-hit.rank, 6),
                "link": record_url(SCHEMAS[hit.type].COLLECTION, hit.id),
            } for hit in hits]
            next_url = page_url(cursor=next_cursor) if next_cursor else None
            return {
                "data": data,
                "meta": {"total": total, "count": len(data), "limit": args["limit"],
                         "next_cursor": next_cursor},
                "links": {"self": page_url(), "next": next_url},
            }

        return cached_json(seq, at, lang, build, viewer)


# ------------------------------------------------------------------------ the contract

def contract(doc: Contract) -> None:
    """The search operation and its shape, for ``openapi.yaml``."""
    conv, components_schemas, paths = doc.conv, doc.schemas, doc.paths
    components_schemas["SearchResults"] = page_of({
        "type": "object",
        "required": ["type", "id", "version", "label", "snippet", "score", "link"],
        "properties": {
            "type": {"type": "string", "enum": list(SCHEMAS)},
            "id": {"type": "string", "pattern": ID_PATTERN},
            "version": {"type": "integer", "minimum": 1},
            "label": {"type": "string"},
            "snippet": {"type": "string"},
            "score": {"type": "number", "description": "Higher is more relevant."},
            "link": {"type": "string", "format": "uri"},
        },
        "additionalProperties": False,
    })
    paths["/api/v1/search"] = get_op(
        "search", "Search every record type", "search",
        conv.parameters(SearchArgs) + CONDITIONAL,
        {"200": ok("SearchResults", "Hits, most relevant first."), "304": not_modified_response(),
         **problems("BadRequest")},
        description="English and Spanish text are both searched; `lang` picks the language of "
                    "labels and snippets.",
    )

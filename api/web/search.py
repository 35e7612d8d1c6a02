"""``GET /api/v1/search``: ranked hits across every record type."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_restx import Namespace, Resource

from api.storage import db, store
from api.storage import search as search_engine
from api.web.errors import bad_request
from api.web.http import cached_json, current_viewer, negotiate_language, parse_args
from api.web.records import page_url, record_url
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

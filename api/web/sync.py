"""``/api/v1/changes`` and ``/api/v1/export``: full snapshots and incremental sync."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask_restx import Namespace, Resource

from api.storage import db, feeds, store
from api.web.http import (
    cached_json,
    cached_response,
    current_viewer,
    negotiate_language,
    parse_args,
)
from api.web.records import page_url
from schemas import hsds
from schemas.params import ChangesArgs, ExportArgs, HsdsArgs
from schemas.registry import REGISTRY
from schemas.render import ALL_LANGUAGES

ns_changes = Namespace("changes", path="/changes", description="The change feed")
ns_export = Namespace("export", path="/export", description="Snapshots of every record")


def _context(schema: Any) -> tuple[dict[str, Any], str, Any, Any, int, Any]:
    """What every sync read starts from: arguments, language, viewer, session, the latest
    change and its time."""
    args = parse_args(schema)
    lang = negotiate_language(args.get("lang"))
    session = db.session()
    latest, at = store.state(session)
    return args, lang, current_viewer(), session, latest, at


@ns_changes.route("", endpoint="changes")
class Changes(Resource):
    def get(self) -> Response:
        args, lang, viewer, session, latest, at = _context(ChangesArgs)
        since = feeds.token_seq(args.get("since"))

        def build() -> dict[str, Any]:
            page = feeds.feed(session, since, args.get("types"), viewer, lang, args["limit"],
                              latest)
            return {"data": page.entries,
                    "meta": {"next_token": feeds.token(page.next_seq),
                             "has_more": page.has_more},
                    "links": {"self": page_url(),
                              "next": page_url(since=feeds.token(page.next_seq))}}

        return cached_json(latest, at, lang, build, viewer)


@ns_export.route("", endpoint="export")
class Export(Resource):
    def get(self) -> Response:
        args, lang, viewer, session, latest, at = _context(ExportArgs)
        meta = {"sync_token": feeds.token(latest), "lang": lang}

        def records() -> list[orjson.Fragment]:
            return feeds.snapshot(session, latest, viewer, lang)

        if args["format"] == "ndjson":
            def lines() -> bytes:
                found = records()
                head = orjson.dumps({"meta": {**meta, "count": len(found)}})
                return b"\n".join([head, *map(orjson.dumps, found)]) + b"\n"

            return cached_response(latest, at, lang, lines,
                                   "application/x-ndjson", viewer)

        def document() -> dict[str, Any]:
            found = records()
            return {"data": found, "meta": {**meta, "count": len(found)}}

        return cached_json(latest, at, lang, document, viewer)


@ns_export.route("/hsds", endpoint="export_hsds")
class ExportHsds(Resource):
    def get(self) -> Response:
        args, lang, viewer, session, latest, at = _context(HsdsArgs)
        lang = "en" if lang == ALL_LANGUAGES else lang

        def build() -> dict[str, Any]:
            found = map(orjson.loads, map(orjson.dumps, feeds.snapshot(session, latest, viewer,
                                                                        lang)))
            records = list(found)
            organizations = []
            for record_type in REGISTRY.types.values():  # the types that are services
                if record_type.hsds is not None:
                    organizations += record_type.hsds(
                        [record for record in records if record["type"] == record_type.name])
            return hsds.page(organizations)

        return cached_json(latest, at, lang, build, viewer)

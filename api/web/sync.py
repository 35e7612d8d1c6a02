"""``/api/v1/changes`` and ``/api/v1/export``: full snapshots and incremental sync."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask_restx import Namespace, Resource

from api.storage import db, feeds, store
from api.web.contract import (
    CONDITIONAL,
    REF,
    Contract,
    get_op,
    not_modified_response,
    ok,
    problems,
)
from api.web.http import (
    cached_json,
    cached_response,
    current_viewer,
    negotiate_language,
    page_url,
    parse_args,
)
from api.web.shapes import component_name
from schemas import hsds
from schemas.fields import ID_PATTERN
from schemas.params import ChangesArgs, ExportArgs, HsdsArgs
from schemas.records import SCHEMAS
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


# ------------------------------------------------------------------------ the contract

def contract(doc: Contract) -> None:
    """The change feed and export operations and their shapes, for ``openapi.yaml``."""
    conv, components_schemas, paths = doc.conv, doc.schemas, doc.paths
    any_record = {"oneOf": [{"$ref": REF + component_name(schema_cls)}
                            for schema_cls in SCHEMAS.values()]}
    components_schemas["ChangeFeed"] = {
        "type": "object", "required": ["data", "meta", "links"],
        "properties": {
            "data": {"type": "array", "items": {
                "type": "object", "required": ["seq", "op", "type", "id", "version", "record"],
                "properties": {
                    "seq": {"type": "integer", "minimum": 1},
                    "op": {"type": "string", "enum": ["upsert", "delete"]},
                    "type": {"type": "string", "enum": list(SCHEMAS)},
                    "id": {"type": "string", "pattern": ID_PATTERN},
                    "version": {"type": "integer", "minimum": 1},
                    "record": {"anyOf": [any_record, {"type": "null"}],
                               "description": "The record as published (null for deletes)."},
                },
                "additionalProperties": False}},
            "meta": {"type": "object", "required": ["next_token", "has_more"],
                     "properties": {"next_token": {"type": "string"},
                                    "has_more": {"type": "boolean"}},
                     "additionalProperties": False},
            "links": {"$ref": REF + "PageLinks"},
        },
        "additionalProperties": False,
    }
    paths["/api/v1/changes"] = get_op(
        "listChanges", "What changed since a token", "sync",
        conv.parameters(ChangesArgs) + CONDITIONAL,
        {"200": ok("ChangeFeed", "Changes in order; keep `meta.next_token` for next time.",
                    paged=True),
         "304": not_modified_response(), **problems("BadRequest")},
        description="Replaying the feed from any token reproduces what the caller can read: "
                    "a retirement, a return to draft or a loss of visibility comes as `delete`.")
    export_meta = {"type": "object", "required": ["sync_token", "lang", "count"],
                   "properties": {"sync_token": {"type": "string"},
                                  "lang": {"type": "string"},
                                  "count": {"type": "integer", "minimum": 0}},
                   "additionalProperties": False}
    components_schemas["Export"] = {
        "type": "object", "required": ["data", "meta"],
        "properties": {"data": {"type": "array", "items": any_record}, "meta": export_meta},
        "additionalProperties": False,
    }
    export_ok = ok("Export", "Every visible record, with the token to continue with "
                              "/changes.")
    export_ok["content"]["application/x-ndjson"] = {
        "schema": {"type": "string", "description": "With `format=ndjson`: a line "
                                                    "`{\"meta\": ...}`, then a record a line."}}
    paths["/api/v1/export"] = get_op(
        "export", "Every record, in one go", "sync", conv.parameters(ExportArgs) + CONDITIONAL,
        {"200": export_ok, "304": not_modified_response(), **problems("BadRequest")},
        description="Every record you may see, as JSON or NDJSON, with the `sync_token` to "
                    "continue from with `/changes`: the first step of a mirror.")
    _hsds_contract(doc)


def _hsds_contract(doc: Contract) -> None:
    """The HSDS export and its shape."""
    conv, components_schemas, paths = doc.conv, doc.schemas, doc.paths
    components_schemas["HsdsOrganizations"] = {
        "type": "object",
        "description": "Open Referral HSDS 3.0: a page of organizations (with their services "
                       "and phones), each valid against HSDS `compiled_organization.json`.",
        "required": ["total_items", "total_pages", "page_number", "size", "first_page",
                     "last_page", "empty", "contents"],
        "properties": {
            "total_items": {"type": "integer", "minimum": 0},
            "total_pages": {"type": "integer", "minimum": 1},
            "page_number": {"type": "integer", "minimum": 1},
            "size": {"type": "integer", "minimum": 0},
            "first_page": {"type": "boolean"}, "last_page": {"type": "boolean"},
            "empty": {"type": "boolean"},
            "contents": {"type": "array", "items": {
                "type": "object", "required": ["id", "name", "description", "services"],
                "properties": {"id": {"type": "string", "format": "uuid"},
                               "name": {"type": "string"}, "description": {"type": "string"},
                               "services": {"type": "array", "items": {"type": "object"}}}}},
        },
        "additionalProperties": False,
    }
    paths["/api/v1/export/hsds"] = get_op(
        "exportHsds", "Hotlines as Open Referral HSDS 3.0", "sync",
        conv.parameters(HsdsArgs) + CONDITIONAL,
        {"200": ok("HsdsOrganizations", "Organizations with their services and phones."),
         "304": not_modified_response(), **problems("BadRequest")},
        description="For directories that ingest HSDS. Ids are stable UUIDs derived from ours.")

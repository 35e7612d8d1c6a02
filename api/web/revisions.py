"""A record's history: ``/api/v1/{collection}/{id}/revisions`` (every published version),
``.../revisions/{version}`` (one, exactly as published) and ``.../revisions/{version}/diff``
(an RFC 6902 JSON Patch between two versions, made by ``jsonpatch``)."""

from __future__ import annotations

from typing import Any

import jsonpatch
import orjson
from flask import Response

from api.storage import clock, db, feeds, renditions, store
from api.web.contract import (
    CONDITIONAL,
    ID_PARAM,
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
    not_found,
    parse_args,
    record_url,
)
from api.web.shapes import article, component_name
from schemas.fields import DEFAULT_LANGUAGE, ID_RE
from schemas.params import DiffArgs, NoArgs, RevisionArgs
from schemas.records import SCHEMAS
from schemas.render import ALL_LANGUAGES, available_languages

#: The media type of a diff (RFC 6902).
JSON_PATCH = "application/json-patch+json"
VERSION_PARAM = {"name": "version", "in": "path", "required": True,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}}


def _history_of(record_type: str, record_id: str) -> Any:
    """The record whose history this viewer may read (retired ones included), else 404."""
    viewer = current_viewer()
    record = None
    if ID_RE.fullmatch(record_id):
        record = store.get_record(db.session(), record_id, record_type)
    if (record is None or record.visibility not in viewer.visibilities
            or (record.version == 0 and not viewer.editor)):
        raise not_found()
    return record


def list_revisions(record_type: str, record_id: str) -> Response:
    parse_args(NoArgs)
    record = _history_of(record_type, record_id)
    viewer = current_viewer()
    collection = SCHEMAS[record_type].COLLECTION

    def build() -> dict[str, Any]:
        versions = [v for v in feeds.revisions(db.session(), record_id)
                    if v.visibility in viewer.visibilities]
        base = record_url(collection, record_id)
        return {"data": [{"version": v.version, "status": v.status, "visibility": v.visibility,
                          "published_at": clock.rfc3339(v.published_at),
                          "link": f"{base}/revisions/{v.version}"} for v in versions],
                "meta": {"count": len(versions), "current_version": record.version}}

    return cached_json(record.seq, record.updated_at, None, build, viewer)


def get_revision(record_type: str, record_id: str, number: int) -> Response:
    args = parse_args(RevisionArgs)
    lang = negotiate_language(args.get("lang"))
    record = _history_of(record_type, record_id)
    viewer = current_viewer()
    version = feeds.revision(db.session(), record_id, number)
    if version is None or version.visibility not in viewer.visibilities:
        raise not_found("version")
    if lang != ALL_LANGUAGES and lang not in available_languages(record_type, version.content):
        lang = DEFAULT_LANGUAGE
    # A published version never changes: its ETag names it.
    return cached_json(f"v{number}", version.published_at, lang,
                       lambda: {"data": feeds.render_version(db.session(), version,
                                                             record.created_at, lang)},
                       viewer)


def diff(record_type: str, record_id: str, number: int) -> Response:
    """An RFC 6902 JSON Patch that turns the record as published at ``from`` (default: the
    version before; 0: nothing) into the record as published at ``number``, both as
    ``.../revisions/{version}?lang=*`` shows them."""
    args = parse_args(DiffArgs)
    record = _history_of(record_type, record_id)
    viewer = current_viewer()
    session = db.session()
    base_number = args.get("since", number - 1)
    documents = []
    for wanted in (base_number, number):
        if wanted == 0:
            documents.append({})
            continue
        version = feeds.revision(session, record_id, wanted)
        if version is None or version.visibility not in viewer.visibilities:
            raise not_found("version")
        documents.append(orjson.loads(renditions.rendered_version(
            session, version, record.created_at, ALL_LANGUAGES)))
    published = feeds.revision(session, record_id, number)
    assert published is not None
    # Two published versions never change: the ETag names them.
    return cached_response(f"d{base_number}-{number}", published.published_at, None,
                           lambda: orjson.dumps(jsonpatch.make_patch(*documents).patch),
                           JSON_PATCH, viewer)


# ------------------------------------------------------------------------ the contract

def contract(doc: Contract) -> None:
    """The history operations of every collection, for ``openapi.yaml``."""
    conv, paths = doc.conv, doc.paths
    doc.schemas["RevisionList"] = {
        "type": "object", "required": ["data", "meta"],
        "properties": {
            "data": {"type": "array", "items": {
                "type": "object",
                "required": ["version", "status", "visibility", "published_at", "link"],
                "properties": {
                    "version": {"type": "integer", "minimum": 1},
                    "status": {"type": "string", "enum": ["published", "retired"]},
                    "visibility": {"type": "string", "enum": ["public", "law_enforcement"]},
                    "published_at": {"type": "string", "format": "date-time"},
                    "link": {"type": "string", "format": "uri"},
                },
                "additionalProperties": False}},
            "meta": {"type": "object", "required": ["count", "current_version"],
                     "properties": {"count": {"type": "integer", "minimum": 0},
                                    "current_version": {"type": "integer", "minimum": 0}},
                     "additionalProperties": False},
        },
        "additionalProperties": False,
    }
    doc.schemas["JsonPatch"] = {
        "type": "array", "description": "An RFC 6902 JSON Patch.",
        "items": {"type": "object", "required": ["op", "path"],
                  "properties": {"op": {"type": "string", "enum": [
                      "add", "remove", "replace", "move", "copy", "test"]},
                                 "path": {"type": "string"}, "from": {"type": "string"},
                                 "value": {}}}}
    for record_type, schema_cls in SCHEMAS.items():
        name, label = component_name(schema_cls), record_type.replace("_", " ")
        collection = schema_cls.COLLECTION
        paths[f"/api/v1/{collection}/{{record_id}}/revisions"] = get_op(
            f"list{name}Revisions", f"The versions of {article(label)}",
            collection, [ID_PARAM, *CONDITIONAL[:1]],
            {"200": ok("RevisionList", "Every published version, oldest first.",
                        language=False),
             "304": not_modified_response(), **problems("BadRequest", "NotFound")},
            description="Retired records keep their history.")
        paths[f"/api/v1/{collection}/{{record_id}}/revisions/{{version}}"] = get_op(
            f"get{name}Revision", f"{article(label).capitalize()} as published at a version",
            collection,
            [ID_PARAM, VERSION_PARAM, *conv.parameters(RevisionArgs), *CONDITIONAL],
            {"200": ok(f"{name}Item", "The record exactly as it was published then."),
             "304": not_modified_response(), **problems("BadRequest", "NotFound")},
            description="What an officer saw then: an RMS cites id and version.")

        paths[f"/api/v1/{collection}/{{record_id}}/revisions/{{version}}/diff"] = get_op(
            f"diff{name}Revision", f"What changed in {article(label)} at a version",
            collection, [ID_PARAM, VERSION_PARAM, *conv.parameters(DiffArgs), *CONDITIONAL[:1]],
            {"200": {"description": "The patch: applied to the record as published at `from` "
                                    "(`lang=*`), it gives the record as published at `version`.",
                     "headers": ok("JsonPatch", "", language=False)["headers"],
                     "content": {JSON_PATCH: {"schema": {"$ref": "#/components/schemas/"
                                                                 "JsonPatch"}}}},
             "304": not_modified_response(), **problems("BadRequest", "NotFound")},
            description="An RFC 6902 JSON Patch between two published versions, both in "
                        "every language (`lang=*`): `from` defaults to the version before "
                        "(`0`: nothing, so every field is added).")

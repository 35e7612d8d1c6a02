"""The four collections: ``/api/v1/{resources,indicators,relief-options,hotlines}``.

Each collection is a flask-restx Namespace built from its record type; views parse, call the
store, render.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_restx import Namespace, Resource

from api.services import items
from api.services.csv_export import records_csv
from api.storage import clock, db, lists, store
from api.web import editing, revisions
from api.web.contract import (
    CONDITIONAL,
    ID_PARAM,
    IDEMPOTENCY_KEY,
    IF_MATCH,
    KEY,
    REF,
    WRITES,
    Contract,
    body_of,
    follow_ups,
    headers_of,
    not_modified_response,
    ok,
    operation,
    page_of,
    problems,
    saved,
)
from api.web.errors import Problem, bad_request
from api.web.http import (
    cached_json,
    cached_response,
    current_viewer,
    negotiate_language,
    next_link,
    not_found,
    page_url,
    parse_args,
    record_url,
)
from api.web.shapes import article
from schemas.fields import ID_RE
from schemas.guidance import guidance_for
from schemas.params import LIST_ARGS, RECORD_ARGS
from schemas.records import SCHEMAS
from schemas.registry import REGISTRY
from schemas.render import ALL_LANGUAGES, render


def page_document(record_type: str, data: list[Any], page: lists.Page, limit: int, lang: str,
                  self_url: str, next_url: str | None) -> dict[str, Any]:
    """A list page as a collection answers it: items, totals, guidance and links."""
    meta: dict[str, Any] = {"total": page.total, "count": len(data), "limit": limit,
                            "next_cursor": page.next_cursor}
    guidance = guidance_for(record_type, lang)
    if guidance is not None:
        meta["guidance"] = guidance
    return {"data": data, "meta": meta, "links": {"self": self_url, "next": next_url}}


def list_collection(record_type: str) -> Response:
    args = parse_args(LIST_ARGS[record_type])
    lang = negotiate_language(args.get("lang"))
    viewer = current_viewer()
    session = db.session()
    seq, at = store.state(session)
    if args.get("format") == "csv":
        return _csv(record_type, args, "en" if lang == ALL_LANGUAGES else lang, viewer, seq, at)
    next_urls: list[str] = []

    def build() -> dict[str, Any]:
        try:
            page = lists.list_records(session, record_type, args, viewer, with_content=False,
                                      lang=lang)
        except store.CursorError as exc:
            raise bad_request({"cursor": [str(exc)]}) from exc
        only = frozenset(args["fields"]) if args.get("fields") else None
        data = items.render_rows(session, record_type, page.rows, lang, only)
        next_url = page_url(cursor=page.next_cursor) if page.next_cursor else None
        if next_url:
            next_urls.append(next_url)
        return page_document(record_type, data, page, args["limit"], lang, page_url(), next_url)

    response = cached_json(seq, at, lang, build, viewer)
    if next_urls:
        response.headers["Link"] = next_link(next_urls[0])
    return response


def _csv(record_type: str, args: dict[str, Any], lang: str, viewer: Any, seq: int,
         at: Any) -> Response:
    """Every matching record in the spreadsheet form its type declares."""
    export = REGISTRY[record_type].csv
    assert export is not None  # the format parameter exists only for such types
    collection = SCHEMAS[record_type].COLLECTION

    def build() -> bytes:
        rows = lists.list_records(db.session(), record_type,
                                  {**args, "cursor": None, "limit": 1_000_000}, viewer).rows
        records = [render(record_type, row.content, store.system_fields(row), lang)
                   for row in rows]
        return records_csv(export, records, lambda record_id: record_url(collection, record_id))

    response = cached_response(seq, at, lang, build, "text/csv", viewer)
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


def get_one(record_type: str, record_id: str) -> Response:
    args = parse_args(RECORD_ARGS[record_type])
    lang = negotiate_language(args.get("lang"))
    viewer = current_viewer()
    if not ID_RE.fullmatch(record_id):
        raise not_found()
    # A plain row, rendered (or found rendered) as a list item is: no ORM object to build.
    session = db.session()
    # (A record without text in the language asked for renders as in English.)
    record = store.get_item_row(session, record_id, record_type, lang)
    if record is None or record.visibility not in viewer.visibilities:
        raise not_found()
    if record.status == store.DRAFT and not viewer.editor:
        raise not_found()
    if record.status == store.RETIRED and not viewer.editor:  # editors may restore it
        raise Problem(410, f"{record_id} was retired on {clock.rfc3339(record.retired_at)}.",
                      slug="retired", title="Retired", retired_at=clock.rfc3339(record.retired_at))
    only = frozenset(args["fields"]) if args.get("fields") else None
    shown = items.shown_language(record, lang)  # English when it has no text in ``lang``
    return cached_json(
        record.revision, record.updated_at, shown,
        lambda: {"data": items.render_rows(session, record_type, [record], shown, only)[0]},
        viewer, revision=record.revision,
    )


def item_endpoint(record_type: str) -> str:
    """The endpoint name of ``GET /api/v1/{collection}/{id}`` for ``record_type``."""
    return f"{record_type}_item"


def list_endpoint(record_type: str) -> str:
    """The endpoint name of ``GET /api/v1/{collection}`` for ``record_type``."""
    return f"{record_type}_list"


def make_namespace(record_type: str) -> Namespace:
    """The namespace serving one record type's collection."""
    collection = SCHEMAS[record_type].COLLECTION
    ns = Namespace(collection, path=f"/{collection}", description=f"{collection} records")

    class Collection(Resource):
        def get(self) -> Response:
            return list_collection(record_type)

        def post(self) -> Response:
            return editing.create(record_type)

    class Item(Resource):
        def get(self, record_id: str) -> Response:
            return get_one(record_type, record_id)

        def put(self, record_id: str) -> Response:
            return editing.replace(record_type, record_id)

        def patch(self, record_id: str) -> Response:
            return editing.patch(record_type, record_id)

        def delete(self, record_id: str) -> Response:
            return editing.retire(record_type, record_id)

    class Revisions(Resource):
        def get(self, record_id: str) -> Response:
            return revisions.list_revisions(record_type, record_id)

    class Revision(Resource):
        def get(self, record_id: str, version: int) -> Response:
            return revisions.get_revision(record_type, record_id, version)

    class Verification(Resource):
        def post(self, record_id: str) -> Response:
            return editing.verify(record_type, record_id)

    ns.add_resource(Collection, "", endpoint=list_endpoint(record_type))
    ns.add_resource(Verification, "/<string:record_id>/verification",
                    endpoint=f"{record_type}_verification")
    ns.add_resource(Item, "/<string:record_id>", endpoint=item_endpoint(record_type))
    ns.add_resource(Revisions, "/<string:record_id>/revisions",
                    endpoint=f"{record_type}_revisions")
    class Diff(Resource):
        def get(self, record_id: str, version: int) -> Response:
            return revisions.diff(record_type, record_id, version)

    version = "<int(min=1, max=2147483647):version>"
    ns.add_resource(Revision, f"/<string:record_id>/revisions/{version}",
                    endpoint=f"{record_type}_revision")
    ns.add_resource(Diff, f"/<string:record_id>/revisions/{version}/diff",
                    endpoint=f"{record_type}_diff")
    return ns


def namespaces() -> list[Namespace]:
    """A namespace per registered record type, in registry order."""
    return [make_namespace(record_type) for record_type in SCHEMAS]


# ------------------------------------------------------------------------ the contract

def contract(doc: Contract) -> None:
    """The collections' operations and shapes, for ``openapi.yaml``."""
    for record_type, schema_cls in SCHEMAS.items():
        _collection_contract(doc, record_type, schema_cls)
        _record_contract(doc, record_type, schema_cls)


def _collection_contract(doc: Contract, record_type: str, schema_cls: Any) -> None:
    """``/{collection}``: list and create."""
    conv, components_schemas, paths = doc.conv, doc.schemas, doc.paths
    label = record_type.replace("_", " ")
    name = conv.record(schema_cls)
    collection = schema_cls.COLLECTION
    doc.tags.append({"name": collection, "description": f"{name} records."})
    components_schemas[f"{name}List"] = page_of({"$ref": REF + name})
    components_schemas[f"{name}Item"] = {
        "type": "object", "required": ["data"],
        "properties": {"data": {"$ref": REF + name}},
        "additionalProperties": False,
    }
    input_name = conv.record_input(schema_cls)
    paths[f"/api/v1/{collection}"] = {
        "get": operation(
            f"list{name}s", f"List {collection}", collection,
            conv.parameters(LIST_ARGS[record_type]) + CONDITIONAL,
            {"200": ok(f"{name}List", "One page of records.", paged=True),
             "304": not_modified_response(), **problems("BadRequest")},
            description="Filters combine with AND; the comma-separated values of one filter "
                        "with OR. Pages follow `links.next` (also in `Link`)."),
        "post": operation(
            f"create{name}", f"Create {article(label)}", collection,
            [IDEMPOTENCY_KEY],
            {"201": saved(f"{name}Item", "Created; `Location` is its address."),
             **problems(*WRITES, "Conflict")},
            description="Needs the `write` scope. `status: draft` keeps it out of every "
                        "read until published.",
            body=body_of(input_name), security=KEY),
    }
    export = REGISTRY[record_type].csv
    if export is not None:
        paths[f"/api/v1/{collection}"]["get"]["responses"]["200"]["content"]["text/csv"] = {
            "schema": {"type": "string",
                       "description": f"With `format=csv`: {export.shape}, UTF-8 with a "
                                      "byte order mark; cells a spreadsheet would read as "
                                      "formulas start with `'`."}}


def _record_contract(doc: Contract, record_type: str, schema_cls: Any) -> None:
    """``/{collection}/{id}`` and its revisions."""
    conv, paths = doc.conv, doc.paths
    label = record_type.replace("_", " ")
    name = conv.record(schema_cls)
    collection = schema_cls.COLLECTION
    patch_name = conv.record_input(schema_cls, "Patch")
    replacement_name = conv.record_input(schema_cls, "Replacement")
    update_errors = problems(*WRITES, "NotFound", "Conflict", "PreconditionFailed",
                            "PreconditionRequired")
    proposed = {"202": {
        "description": "Accepted, not published: a change that needs a second person (a "
                       "published record's contact channels, a restricted record made public, "
                       "a hotline taken off the screens) became a proposal, at `Location`; "
                       "every read stays as it was until a key with the `approve` scope "
                       "approves it.",
        "headers": headers_of("Location"),
        "content": {"application/json": {"schema": {"$ref": REF + "ProposalItem"}}}}}
    paths[f"/api/v1/{collection}"]["post"]["responses"]["201"]["links"] = follow_ups(name,
        "get", "patch", "replace", "retire")
    paths[f"/api/v1/{collection}/{{record_id}}"] = {
        "get": operation(
            f"get{name}", f"One {record_type.replace('_', ' ')}", collection,
            [ID_PARAM, *conv.parameters(RECORD_ARGS[record_type]), *CONDITIONAL],
            {"200": {**ok(f"{name}Item", "The record."),
                     "links": follow_ups(name, "patch", "replace", "retire")},
             "304": not_modified_response(), **problems("BadRequest", "NotFound", "Gone")},
            description=f"The current version of {article(label)}, in the language asked "
                        "(`lang=*`: every language; `fields=`: only some fields). A "
                        "retired record is 410 with `retired_at`; a record you may not "
                        "see, or a draft, is 404."),
        "put": operation(
            f"replace{name}", f"Replace {article(label)}", collection,
            [ID_PARAM, IF_MATCH],
            {"200": {**saved(f"{name}Item", "Saved."), "links": follow_ups(name, "get", "retire")},
             **proposed, **update_errors},
            description="The whole record, multilingual form. Needs the `write` scope.",
            body=body_of(replacement_name), security=KEY),
        "patch": operation(
            f"patch{name}", f"Change fields of {article(label)}",
            collection, [ID_PARAM, IF_MATCH],
            {"200": {**saved(f"{name}Item", "Saved."), "links": follow_ups(name, "get", "patch")},
             **proposed, **update_errors},
            description="An RFC 7396 merge patch. Needs the `write` scope.",
            body=body_of(patch_name, ("application/merge-patch+json", "application/json")),
            security=KEY),
        "delete": operation(
            f"retire{name}", f"Retire {article(label)}", collection,
            [ID_PARAM, IF_MATCH],
            {"204": {"description": "Retired: reads answer 410 from now on; every version "
                                    "stays in the history.", "headers": headers_of("ETag")},
             **proposed, **problems("BadRequest", "Forbidden", "NotFound", "Gone",
                                    "PreconditionFailed", "PreconditionRequired")},
            description="A tombstone, not a hard delete. Needs the `write` scope.",
            security=KEY),
    }

"""The four collections: ``/api/v1/{resources,indicators,relief-options,hotlines}``.

Each collection is a flask-restx Namespace built from its record type; views parse, call the
store, render.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response, request
from flask_restx import Namespace, Resource

from api.services import items
from api.services.csv_export import records_csv
from api.storage import clock, db, feeds, lists, store
from api.web import editing
from api.web.errors import Problem, bad_request
from api.web.http import (
    cached_json,
    cached_response,
    current_viewer,
    negotiate_language,
    not_found,
    parse_args,
)
from schemas.fields import DEFAULT_LANGUAGE, ID_RE
from schemas.guidance import guidance_for
from schemas.params import LIST_ARGS, RECORD_ARGS, NoArgs, RevisionArgs
from schemas.records import SCHEMAS
from schemas.registry import REGISTRY
from schemas.render import ALL_LANGUAGES, available_languages, render


def page_url(**overrides: Any) -> str:
    """This request's absolute URL with some query parameters replaced (None removes one)."""
    args = {k: v for k, v in request.args.items()}
    args.update(overrides)
    query = urlencode({k: v for k, v in args.items() if v is not None})
    return request.base_url + (f"?{query}" if query else "")


def record_url(collection: str, record_id: str) -> str:
    return f"{request.host_url.rstrip('/')}/api/v1/{collection}/{record_id}"


def list_collection(record_type: str) -> Response:
    args = parse_args(LIST_ARGS[record_type])
    lang = negotiate_language(args.get("lang"))
    viewer = current_viewer()
    session = db.session()
    seq, at = store.state(session)
    if args.get("format") == "csv":
        return _csv(record_type, args, "en" if lang == ALL_LANGUAGES else lang, viewer, seq, at)
    next_link: list[str] = []

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
            next_link.append(next_url)
        meta: dict[str, Any] = {"total": page.total, "count": len(data),
                                "limit": args["limit"], "next_cursor": page.next_cursor}
        guidance = guidance_for(record_type, lang)
        if guidance is not None:
            meta["guidance"] = guidance
        return {"data": data, "meta": meta, "links": {"self": page_url(), "next": next_url}}

    response = cached_json(seq, at, lang, build, viewer)
    if next_link:
        response.headers["Link"] = f'<{next_link[0]}>; rel="next"'
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
            return list_revisions(record_type, record_id)

    class Revision(Resource):
        def get(self, record_id: str, version: int) -> Response:
            return get_revision(record_type, record_id, version)

    ns.add_resource(Collection, "", endpoint=f"{record_type}_list")
    ns.add_resource(Item, "/<string:record_id>", endpoint=f"{record_type}_item")
    ns.add_resource(Revisions, "/<string:record_id>/revisions",
                    endpoint=f"{record_type}_revisions")
    ns.add_resource(Revision, "/<string:record_id>/revisions/<int(min=1, max=2147483647):version>",
                    endpoint=f"{record_type}_revision")
    return ns


def namespaces() -> list[Namespace]:
    """A namespace per registered record type, in registry order."""
    return [make_namespace(record_type) for record_type in SCHEMAS]

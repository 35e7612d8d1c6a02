"""The API index, health checks, the contract and the interactive docs page."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import orjson
import yaml
from flask import Blueprint, Flask, Response, request, send_from_directory
from flask_restx import Resource
from sqlalchemy import text

from api.storage import db
from api.web.contract import (
    REF,
    Contract,
    get_op,
    headers_of,
    not_modified_response,
    ok,
    problems,
)
from api.web.errors import Problem
from api.web.http import cached_json, current_viewer, fixed_response, not_found, parse_args
from schemas.params import NoArgs
from schemas.records import SCHEMAS

ROOT = Path(__file__).resolve().parents[2]
STATIC = Path(__file__).resolve().parent / "static"
API_VERSION = "1.0.0"

class Index(Resource):
    def get(self) -> Response:
        parse_args(NoArgs)
        base = request.host_url.rstrip("/") + "/api/v1"
        body = {
            "name": "HT Content API",
            "version": API_VERSION,
            "api": "v1",
            "links": {
                **{schema.COLLECTION: f"{base}/{schema.COLLECTION}" for schema in SCHEMAS.values()},
                "search": f"{base}/search",
                "vocabularies": f"{base}/vocabularies",
                "docs": f"{base}/docs",
                "openapi": f"{base}/openapi.json",
            },
        }
        return cached_json(API_VERSION, contract_modified(), None, lambda: body,
                           current_viewer())


@cache
def contract() -> bytes:
    """``openapi.yaml`` as JSON bytes (read once)."""
    return orjson.dumps(yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8")))


@cache
def contract_modified() -> datetime:
    """When this deployment's contract (and so the index and the docs) last changed."""
    return datetime.fromtimestamp(int((ROOT / "openapi.yaml").stat().st_mtime), UTC)


def _swagger_ui_dir() -> Path:
    import swagger_ui

    return Path(swagger_ui.__file__).resolve().parent / "static"


ops = Blueprint("ops", __name__)
#: The docs page's policy: its own scripts and styles (Swagger UI sets inline styles).
DOCS_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
DOC_ASSETS = {"swagger-ui.css": _swagger_ui_dir, "swagger-ui-bundle.js": _swagger_ui_dir,
              "docs-init.js": lambda: STATIC}


@ops.get("/healthz")
def healthz() -> Response:
    """Alive: the process answers (says nothing about the database)."""
    parse_args(NoArgs)
    return fixed_response(b'{"status":"ok"}', "no-store")


@ops.get("/readyz")
def readyz() -> Response:
    """Ready: the database answers."""
    parse_args(NoArgs)
    try:
        with db.engine().connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database means not ready
        raise Problem(503, "The database is not reachable.", slug="not-ready",
                      title="Not ready", headers={"Retry-After": "5"}) from exc
    return fixed_response(b'{"status":"ready","database":"ok"}', "no-store")


@ops.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics (request counts and latency histograms by route and status)."""
    parse_args(NoArgs)
    from api.edge.observability import METRICS_MEDIA_TYPE, metrics_text

    return fixed_response(metrics_text(), "no-store", mimetype=METRICS_MEDIA_TYPE)


@ops.get("/api/v1/openapi.json")
def openapi_json() -> Response:
    parse_args(NoArgs)
    return fixed_response(contract(), "public, max-age=300", last_modified=contract_modified())


@ops.get("/api/v1/docs")
def docs() -> Response:
    parse_args(NoArgs)
    return fixed_response(_docs_page(), "public, max-age=300", mimetype="text/html",
                          last_modified=contract_modified(),
                          headers={"Content-Security-Policy": DOCS_CSP})


@cache
def _docs_page() -> bytes:
    return (STATIC / "docs.html").read_bytes()


@ops.get("/api/v1/docs/assets/<name>")
def docs_asset(name: str) -> Response:
    parse_args(NoArgs)
    if name not in DOC_ASSETS:
        raise not_found("file")
    return send_from_directory(DOC_ASSETS[name](), name, max_age=86400)


def init_app(app: Flask) -> None:
    app.register_blueprint(ops)


# ------------------------------------------------------------------------ the contract

def index_contract(doc: Contract) -> None:
    """The index, for ``openapi.yaml`` (its first path)."""
    components_schemas, paths = doc.schemas, doc.paths
    paths["/api/v1"] = get_op("getIndex", "The API index", "meta", [], {
        "200": ok("Index", "Links to every collection and to the docs.", language=False),
        "304": not_modified_response(),
        **problems("BadRequest"),
    }, description="The API's name and version, and a link to every collection, the search, "
                   "the vocabularies, the change feed, the export and the docs: start here.")
    components_schemas["Index"] = {
        "type": "object", "required": ["name", "version", "api", "links"],
        "properties": {
            "name": {"type": "string"}, "version": {"type": "string"},
            "api": {"const": "v1"},
            "links": {"type": "object", "additionalProperties": {"type": "string",
                                                                 "format": "uri"}},
        },
        "additionalProperties": False,
    }


def ops_contract(doc: Contract) -> None:
    """The health checks, the metrics and the docs, for ``openapi.yaml``."""
    components_schemas, paths = doc.schemas, doc.paths
    components_schemas["Health"] = {
        "type": "object", "required": ["status"],
        "properties": {"status": {"type": "string"}, "database": {"type": "string"}},
        "additionalProperties": False,
    }
    health_ok = {"description": "OK.",
                 "headers": headers_of("ETag", "Cache-Control", "Last-Modified"),
                 "content": {"application/json": {"schema": {"$ref": REF + "Health"}}}}
    paths["/healthz"] = get_op("healthz", "Alive", "operations", [], {
        "200": health_ok, **problems("BadRequest")},
        description="200 while the process answers; it does not touch the database.")
    paths["/readyz"] = get_op("readyz", "Ready (database reachable)", "operations", [], {
        "200": health_ok, **problems("BadRequest")},
        description="200 when the database answers, else 503: for load balancers.")
    paths["/metrics"] = get_op("metrics", "Prometheus metrics", "operations", [], {
        "200": {"description": "Request counts and latency histograms by route and status.",
                "headers": headers_of("ETag", "Cache-Control", "Last-Modified"),
                "content": {"text/plain": {"schema": {"type": "string"}}}},
        **problems("BadRequest")},
        description="Prometheus text format: requests, latency and cache outcomes by route "
                    "and status, summed over every worker.")
    paths["/api/v1/openapi.json"] = get_op("getContract", "This contract, as JSON", "meta", [], {
        "200": {"description": "The OpenAPI document.",
                "headers": headers_of("ETag", "Cache-Control", "Last-Modified"),
                "content": {"application/json": {"schema": {"type": "object"}}}},
        "304": {"description": "Unchanged.", "headers": headers_of("ETag")},
        **problems("BadRequest")},
        description="`openapi.yaml` as JSON: what client generators and the docs page read.")
    paths["/api/v1/docs"] = get_op("getDocs", "Interactive documentation", "meta", [], {
        "200": {"description": "An HTML page rendering this contract (no external assets).",
                "headers": headers_of("ETag", "Cache-Control", "Last-Modified"),
                "content": {"text/html": {"schema":
                                                                      {"type": "string"}}}},
        "304": {"description": "Unchanged.", "headers": headers_of("ETag")},
        **problems("BadRequest")},
        description="A page that renders this contract and lets you try each operation; it "
                    "loads nothing from other sites.")
    paths["/api/v1/docs/assets/{name}"] = get_op(
        "getDocsAsset", "A file of the documentation page", "meta",
        [{"name": "name", "in": "path", "required": True,
          "schema": {"type": "string", "enum": sorted(DOC_ASSETS)}}], {
            "200": {"description": "The file.",
                    "headers": headers_of("ETag", "Cache-Control", "Last-Modified"),
                    "content": {"text/css": {"schema": {"type": "string"}},
                                "text/javascript": {"schema": {"type": "string"}}}},
            "304": {"description": "Unchanged.", "headers": headers_of("ETag")},
            **problems("BadRequest", "NotFound")},
        description="The documentation page's scripts and styles, served from this API.")

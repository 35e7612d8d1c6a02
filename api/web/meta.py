"""The API index, health checks, the contract and the interactive docs page."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import orjson
import yaml
from flask import Blueprint, Flask, Response, request, send_from_directory
from flask_restx import Resource
from sqlalchemy import text

from api.storage import db
from api.web.errors import Problem
from api.web.http import cached_json, current_viewer, not_found, parse_args
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


def _static_json(body: bytes, cache_control: str, mimetype: str = "application/json",
                 last_modified: datetime | None = None) -> Response:
    """Fixed bytes with a content-hash ETag (under the API's path, the edge answers 304 when
    the client has them)."""
    response = Response(body, mimetype=mimetype)
    response.last_modified = last_modified or datetime.now(UTC).replace(microsecond=0)
    response.headers["ETag"] = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    response.headers["Cache-Control"] = cache_control
    return response


def _swagger_ui_dir() -> Path:
    import swagger_ui

    return Path(swagger_ui.__file__).resolve().parent / "static"


ops = Blueprint("ops", __name__)
DOC_ASSETS = {"swagger-ui.css": _swagger_ui_dir, "swagger-ui-bundle.js": _swagger_ui_dir,
              "docs-init.js": lambda: STATIC}


@ops.get("/healthz")
def healthz() -> Response:
    """Alive: the process answers (says nothing about the database)."""
    parse_args(NoArgs)
    return _static_json(b'{"status":"ok"}', "no-store")


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
    return _static_json(b'{"status":"ready","database":"ok"}', "no-store")


@ops.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics (request counts and latency histograms by route and status)."""
    parse_args(NoArgs)
    from api.edge.observability import METRICS_MEDIA_TYPE, metrics_text

    return _static_json(metrics_text(), "no-store", mimetype=METRICS_MEDIA_TYPE)


@ops.get("/api/v1/openapi.json")
def openapi_json() -> Response:
    parse_args(NoArgs)
    return _static_json(contract(), "public, max-age=300", last_modified=contract_modified())


@ops.get("/api/v1/docs")
def docs() -> Response:
    parse_args(NoArgs)
    return _static_json(_docs_page(), "public, max-age=300", mimetype="text/html",
                        last_modified=contract_modified())


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

"""HTTP behaviour shared by every endpoint: request ids, argument parsing, language negotiation,
JSON bodies, ETags and caching headers."""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Callable
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import orjson
from flask import Flask, Response, current_app, g, request
from marshmallow import Schema, ValidationError

from api.storage.clock import as_utc
from api.storage.store import Viewer
from api.web.auth import current_viewer
from api.web.errors import Problem, bad_request
from schemas.fields import DEFAULT_LANGUAGE, LANGUAGES
from schemas.render import ALL_LANGUAGES


def _response_format() -> str:
    """Changes whenever the contract, the vocabulary labels or the rendering code (what a
    record, its derived fields and a list's guidance look like) change, so a deploy that changes
    what responses say invalidates every ETag issued before it."""
    from api.storage.renditions import RENDER_FORMAT
    from schemas.vocabularies import VOCABULARIES

    contract = (Path(__file__).resolve().parents[2] / "openapi.yaml").read_bytes()
    digest = hashlib.blake2b(contract + repr(VOCABULARIES).encode() + RENDER_FORMAT.encode(),
                             digest_size=8)
    return digest.hexdigest()


RESPONSE_FORMAT = _response_format()
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
VARY = "Accept-Language, Authorization"


MAX_URL_LENGTH = 8192
MAX_HEADER_LENGTH = 8192


def _assign_request_id() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if REQUEST_ID.fullmatch(incoming) else os.urandom(16).hex()
    if len(request.full_path) > MAX_URL_LENGTH:
        raise Problem(414, f"The URL is longer than {MAX_URL_LENGTH} characters.")
    for name, value in request.headers.items():
        if len(value) > MAX_HEADER_LENGTH:
            raise Problem(431, f"The {name} header is longer than {MAX_HEADER_LENGTH} "
                               "characters.")


def _stamp_response(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id") or os.urandom(16).hex()
    return response


def _authenticate() -> None:
    current_viewer()  # a wrong key is refused everywhere, public paths included


def init_app(app: Flask) -> None:
    app.before_request(_assign_request_id)
    app.before_request(_authenticate)
    app.after_request(_stamp_response)


@functools.cache
def _instance(schema: type[Schema]) -> Schema:
    """One instance per parameter schema, shared by every request: loading keeps no state in
    the instance (and making one deep-copies every field)."""
    return schema()


def parse_args(schema: type[Schema]) -> dict[str, Any]:
    """Validate the query string; 400 naming every bad or unknown parameter."""
    raw: dict[str, str] = {}
    errors: dict[str, Any] = {}
    for name in request.args:
        values = request.args.getlist(name)
        if len(values) > 1:
            errors[name] = ["Given more than once; pass a single (comma-separated) value."]
        raw[name] = values[0]
    try:
        loaded = _instance(schema).load(raw)
    except ValidationError as exc:
        messages = exc.normalized_messages()
        allowed = ", ".join(sorted(schema._declared_fields))
        for name, message in messages.items():
            if message == ["Unknown field."]:
                message = [f"Unknown parameter; allowed: {allowed}."]
            errors[name] = message
    if errors:
        raise bad_request(errors)
    return loaded  # type: ignore[no-any-return]


def negotiate_language(requested: str | None) -> str:
    """``lang=`` if given, else the best ``Accept-Language`` match, else English."""
    if requested:
        return requested
    best = request.accept_languages.best_match(LANGUAGES)
    return best or DEFAULT_LANGUAGE


def content_language(lang: str) -> str:
    return ", ".join(LANGUAGES) if lang == ALL_LANGUAGES else lang


REVISION_ETAG = re.compile(r'^(?:W/)?"r([0-9]{1,12})-[0-9a-f]+"$')
#: RFC 9110 If-Match: `*` or a comma-separated list of entity tags.
IF_MATCH_PATTERN = r'^(\*|(W/)?"[!#-~]*"([ \t]*,[ \t]*(W/)?"[!#-~]*")*)$'
IF_MATCH_RE = re.compile(IF_MATCH_PATTERN)


def etag_for(state: object, lang: str | None, viewer: Viewer, revision: int | None = None) -> str:
    """A strong ETag from what the response depends on, computed without rendering it.

    A single record's ETag starts with its revision (``"r7-..."``), so any representation's
    ETag of the current revision is accepted in ``If-Match``.
    """
    query = request.query_string.decode("latin-1")  # as sent: links echo it in this order
    key = "|".join((RESPONSE_FORMAT, str(state), request.host_url, request.path, query, lang or "",
                    ",".join(viewer.visibilities), "editor" if viewer.editor else ""))
    digest = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
    return f'"r{revision}-{digest}"' if revision is not None else f'"{digest}"'


def revisions_in(if_match: str) -> set[int] | None:
    """The record revisions named by an ``If-Match`` header (None for ``*``)."""
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" in tags:
        return None
    return {int(m.group(1)) for tag in tags if (m := REVISION_ETAG.fullmatch(tag))}


def _cache_headers(response: Response, etag: str, last_modified: datetime | None,
                   viewer: Viewer, lang: str | None) -> Response:
    response.headers["ETag"] = etag
    # Nothing ever published: the epoch, so Last-Modified is always there.
    response.headers["Last-Modified"] = http_date(last_modified or datetime(1970, 1, 1))
    if viewer.keyed:
        response.headers["Cache-Control"] = "private, no-store"
    else:
        response.headers["Cache-Control"] = f"public, max-age={current_app.config['CACHE_MAX_AGE']}"
    response.headers["Vary"] = VARY
    if lang is not None:
        response.headers["Content-Language"] = content_language(lang)
    return response


def http_date(moment: datetime) -> str:
    from datetime import UTC

    return format_datetime(as_utc(moment).replace(tzinfo=UTC), usegmt=True)


def _not_modified(etag: str) -> bool:
    """``If-None-Match`` names this ETag. (``If-Modified-Since`` is not honoured: timestamps
    have one-second precision, so a change within the same second would be missed.)"""
    if_none_match = request.headers.get("If-None-Match")
    return if_none_match is not None and etag_matches(if_none_match, etag)


def etag_matches(if_none_match: str, etag: str) -> bool:
    """An ``If-None-Match`` value names ``etag``: listed, in its ``W/`` form, or ``*``."""
    tags = {tag.strip() for tag in if_none_match.split(",")}
    return etag in tags or "*" in tags or ("W/" + etag) in tags


def cached_json(state: object, last_modified: datetime | None, lang: str | None,
                build: Callable[[], Any], viewer: Viewer | None = None,
                status: int = 200, headers: dict[str, str] | None = None,
                revision: int | None = None) -> Response:
    """A GET response for JSON ``build()``: a 304 when the client's copy is current (without
    calling ``build``), else the body, both with ETag, Last-Modified and caching headers."""
    return cached_response(state, last_modified, lang, lambda: orjson.dumps(build()),
                           "application/json", viewer, status, headers, revision)


def cached_response(state: object, last_modified: datetime | None, lang: str | None,
                    build: Callable[[], bytes], mimetype: str, viewer: Viewer | None = None,
                    status: int = 200, headers: dict[str, str] | None = None,
                    revision: int | None = None) -> Response:
    """Like :func:`cached_json`, for a body of any media type."""
    viewer = viewer or current_viewer()
    etag = etag_for(state, lang, viewer, revision)
    if request.method in ("GET", "HEAD") and _not_modified(etag):
        response = Response(status=304)
    else:
        response = Response(build(), status=status, mimetype=mimetype)
        for name, value in (headers or {}).items():
            response.headers[name] = value
    return _cache_headers(response, etag, last_modified, viewer, lang)


def not_found(what: str = "record") -> Problem:
    return Problem(404, f"No such {what}.", slug="not-found", title="Not found")

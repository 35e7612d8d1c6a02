"""What the views share: argument parsing, language negotiation, JSON bodies, ETags and caching
headers. (What every request gets, whoever answers it, is the edge's: :mod:`api.edge.pipeline`.)"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
from flask import Response, current_app, request
from marshmallow import Schema, ValidationError
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from api.edge.pipeline import etag_matches
from api.storage import db
from api.storage.clock import as_utc
from api.storage.publish import WriteConflict
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
VARY = "Accept-Language, Authorization"


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
        allowed = ", ".join(sorted(field.data_key or name
                                   for name, field in schema._declared_fields.items()))
        for name, message in messages.items():
            if message == ["Unknown field."]:
                message = [f"Unknown parameter; allowed: {allowed}."]
            errors[name] = message
    if errors:
        raise bad_request(errors)
    return loaded  # type: ignore[no-any-return]


def negotiate_language(requested: str | None) -> str:
    """This request's language (see :func:`language_for`)."""
    return language_for(requested, request.headers.get("Accept-Language"))


def language_for(requested: str | None, accept_language: str | None) -> str:
    """``lang=`` if given, else the best ``Accept-Language`` match, else English."""
    if requested:
        return requested
    if not accept_language:
        return DEFAULT_LANGUAGE
    best = parse_accept_header(accept_language, LanguageAccept).best_match(LANGUAGES)
    return best or DEFAULT_LANGUAGE


def content_language(lang: str) -> str:
    return ", ".join(LANGUAGES) if lang == ALL_LANGUAGES else lang


REVISION_ETAG = re.compile(r'^(?:W/)?"r([0-9]{1,12})-[0-9a-f]+"$')
#: RFC 9110 If-Match: `*` or a comma-separated list of entity tags.
IF_MATCH_PATTERN = r'^(\*|(W/)?"[!#-~]*"([ \t]*,[ \t]*(W/)?"[!#-~]*")*)$'
IF_MATCH_RE = re.compile(IF_MATCH_PATTERN)


def etag_for(state: object, lang: str | None, viewer: Viewer, revision: int | None = None) -> str:
    """A strong ETag from what this request's response depends on (see :func:`etag_of`)."""
    # the query as sent: links echo it in this order
    return etag_of(state, lang, viewer, (request.host_url, request.path,
                                         request.query_string.decode("latin-1")), revision)


def etag_of(state: object, lang: str | None, viewer: Viewer, url: tuple[str, str, str],
            revision: int | None = None) -> str:
    """A strong ETag from what a response depends on, computed without rendering it: the
    data ``state``, the language, who asks, and ``url`` (host URL, path, query string).

    A single record's ETag starts with its revision (``"r7-..."``), so any representation's
    ETag of the current revision is accepted in ``If-Match``.
    """
    key = "|".join((RESPONSE_FORMAT, str(state), *url, lang or "",
                    ",".join(viewer.visibilities), "editor" if viewer.editor else ""))
    digest = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
    return f'"r{revision}-{digest}"' if revision is not None else f'"{digest}"'


def revisions_in(if_match: str) -> set[int] | None:
    """The record revisions named by an ``If-Match`` header (None for ``*``)."""
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" in tags:
        return None
    return {int(m.group(1)) for tag in tags if (m := REVISION_ETAG.fullmatch(tag))}


def cache_fields(etag: str, last_modified: datetime | None, keyed: bool, lang: str | None,
                 max_age: int) -> list[tuple[str, str]]:
    """The validators and caching headers of a read: ETag, Last-Modified, Cache-Control, Vary
    and Content-Language."""
    # Nothing ever published: the epoch, so Last-Modified is always there.
    fields = [("ETag", etag), ("Last-Modified", http_date(last_modified or datetime(1970, 1, 1))),
              ("Cache-Control", "private, no-store" if keyed else f"public, max-age={max_age}"),
              ("Vary", VARY)]
    if lang is not None:
        fields.append(("Content-Language", content_language(lang)))
    return fields


def _cache_headers(response: Response, etag: str, last_modified: datetime | None,
                   viewer: Viewer, lang: str | None) -> Response:
    for name, value in cache_fields(etag, last_modified, viewer.keyed, lang,
                                    current_app.config["CACHE_MAX_AGE"]):
        response.headers[name] = value
    return response


def http_date(moment: datetime) -> str:
    return format_datetime(as_utc(moment).replace(tzinfo=UTC), usegmt=True)


def cached_json(state: object, last_modified: datetime | None, lang: str | None,
                build: Callable[[], Any], viewer: Viewer | None = None,
                status: int = 200, headers: dict[str, str] | None = None,
                revision: int | None = None) -> Response:
    """A GET response for JSON ``build()`` with ETag, Last-Modified and caching headers (the
    edge answers 304 when the client names the ETag)."""
    return cached_response(state, last_modified, lang, lambda: orjson.dumps(build()),
                           "application/json", viewer, status, headers, revision)


def paged_json(state: object, last_modified: datetime | None,
               page: Callable[[], tuple[list[Any], int, int, str | None]],
               viewer: Viewer | None = None) -> Response:
    """A page of a list as lists answer it: ``data``, ``meta`` (total, count, limit,
    next_cursor) and ``links``, and a ``Link`` header when there is a next page. ``page()``
    gives (items, total, limit, next cursor)."""
    next_urls: list[str] = []

    def build() -> dict[str, Any]:
        data, total, limit, next_cursor = page()
        next_url = page_url(cursor=next_cursor) if next_cursor else None
        if next_url:
            next_urls.append(next_url)
        return {"data": data, "meta": {"total": total, "count": len(data), "limit": limit,
                                       "next_cursor": next_cursor},
                "links": {"self": page_url(), "next": next_url}}

    response = cached_json(state, last_modified, None, build, viewer)
    if next_urls:
        response.headers["Link"] = next_link(next_urls[0])
    return response


def cached_response(state: object, last_modified: datetime | None, lang: str | None,
                    build: Callable[[], bytes], mimetype: str, viewer: Viewer | None = None,
                    status: int = 200, headers: dict[str, str] | None = None,
                    revision: int | None = None) -> Response:
    """Like :func:`cached_json`, for a body of any media type. When the request names the
    ETag in ``If-None-Match``, a ``304`` without calling ``build`` (a key's requests pass by the
    response cache: revalidating costs them no rendering)."""
    viewer = viewer or current_viewer()
    etag = etag_for(state, lang, viewer, revision)
    # (``*`` is left to the edge, which sees whether the answer is a 200 or a problem)
    if (status == 200 and request.method in ("GET", "HEAD")
            and etag_matches(request.headers.get("If-None-Match", ""), etag, star=False)):
        return _cache_headers(Response(status=304), etag, last_modified, viewer, lang)
    response = Response(build(), status=status, mimetype=mimetype)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return _cache_headers(response, etag, last_modified, viewer, lang)


def fixed_response(body: bytes, cache_control: str, mimetype: str = "application/json",
                   last_modified: datetime | None = None,
                   headers: Mapping[str, str] | None = None) -> Response:
    """Fixed bytes (a file, a health answer) with a content-hash ETag (the edge answers 304
    when the client has them)."""
    response = Response(body, mimetype=mimetype)
    response.last_modified = last_modified or datetime.now(UTC).replace(microsecond=0)
    response.headers["ETag"] = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    response.headers["Cache-Control"] = cache_control
    response.headers.update(headers or {})
    return response


def no_store_json(data: Any, status: int = 200,
                  headers: dict[str, str] | None = None) -> Response:
    """``{"data": data}`` for one caller only (a write's answer, a proposal, a subscription):
    never stored by a cache."""
    response = Response(orjson.dumps({"data": data}), status=status,
                        mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def json_object(allowed_types: tuple[str, ...], what: str = "record") -> dict[str, Any]:
    """The request's body, a JSON object: 415 for another media type, 400 for broken JSON,
    422 for JSON that is not an object."""
    if request.mimetype not in allowed_types:
        raise Problem(415, f"Send the {what} as {' or '.join(allowed_types)}.",
                      slug="unsupported-media-type", title="Unsupported media type")
    raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: 413
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Problem(400, f"The body is not valid JSON: {exc}.", slug="malformed-json",
                      title="Malformed JSON") from exc
    if not isinstance(body, dict):
        raise Problem(422, f"The {what} is not valid: _schema.", slug=f"invalid-{what}",
                      title=f"Invalid {what}",
                      errors={"_schema": [f"The body must be a JSON object (one {what})."]})
    return body


def not_found(what: str = "record") -> Problem:
    return Problem(404, f"No such {what}.", slug="not-found", title="Not found")


def page_url(**overrides: Any) -> str:
    """This request's absolute URL with some query parameters replaced (None removes one)."""
    return page_url_of(request.base_url, request.args, **overrides)


def page_url_of(base_url: str, args: Mapping[str, str], **overrides: Any) -> str:
    """``base_url`` with the query ``args`` (first values), some replaced (None removes one)."""
    query_args = {k: v for k, v in args.items()}
    query_args.update(overrides)
    query = urlencode({k: v for k, v in query_args.items() if v is not None})
    return base_url + (f"?{query}" if query else "")


def next_link(url: str) -> str:
    """The ``Link`` header of a page that has a next one."""
    return f'<{url}>; rel="next"'


def record_url(collection: str, record_id: str) -> str:
    return f"{request.host_url.rstrip('/')}/api/v1/{collection}/{record_id}"


@contextmanager
def write_conflicts() -> Iterator[None]:
    """A write the data's state refuses (:class:`api.storage.publish.WriteConflict`), as its
    problem (the transaction rolled back)."""
    try:
        yield
    except WriteConflict as exc:
        db.session().rollback()
        slug = {403: "forbidden", 404: "not-found", 409: "conflict",
                412: "precondition-failed", 422: "invalid-record"}[exc.status]
        raise Problem(exc.status, exc.detail, slug=slug) from exc

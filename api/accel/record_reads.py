"""Single-record reads answered from their stored renditions, without Flask.

A CAD fleet asks for every ``id x lang x fields`` combination, so most single reads are not in
the response cache. Every version's documents are rendered when it is written
(:mod:`api.storage.renditions`), so such a read is one indexed row and a projection: this module
answers an anonymous ``GET`` or ``HEAD`` of ``/api/v1/{collection}/{id}`` whose only
parameters are ``lang`` and ``fields`` from that row, with the bytes and headers the Flask view
(:func:`api.web.records.get_one`) gives, built by the same functions (the parameter schema, the
language rule, the projection, the ETag and the caching headers). Whatever else (a record that
is not published and public, a rendition older than this code, a parameter it does not take)
it declines, and the Flask view answers. It reads the database on every request: its answers
are as fresh as the view's.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from marshmallow import ValidationError
from sqlalchemy import Engine
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header
from werkzeug.routing import Map
from werkzeug.wsgi import get_host

from api.accel.response_cache import Entry
from api.services.items import shown_language
from api.storage import renditions, store
from api.storage.store import Viewer
from api.web.http import cache_fields, etag_of
from schemas.fields import DEFAULT_LANGUAGE, ID_RE, LANGUAGES
from schemas.params import RECORD_ARGS
from schemas.records import SCHEMAS

ANONYMOUS = Viewer()
_PARAMETERS = frozenset({"lang", "fields"})


class RecordReads:
    """Answers single-record reads from stored renditions (see the module's text)."""

    def __init__(self, url_map: Map, engine: Engine, max_age: int) -> None:
        self.url_map = url_map
        self.engine = engine
        self.max_age = max_age
        #: the views' endpoints (``indicator_item``) by record type
        self.endpoints = {f"{record_type}_item": record_type for record_type in SCHEMAS}
        self.schemas = {record_type: RECORD_ARGS[record_type]() for record_type in SCHEMAS}

    def answer(self, environ: dict[str, Any]) -> Entry | None:
        """The answer to this request, as an entry of the response cache (``version`` None),
        or None to leave it to the Flask view."""
        try:
            rule, arguments = self.url_map.bind_to_environ(environ).match(return_rule=True)
        except Exception:  # no such route (or a redirect): the app answers
            return None
        record_type = self.endpoints.get(rule.endpoint)
        record_id = arguments.get("record_id", "")
        if record_type is None or not ID_RE.fullmatch(record_id):
            return None
        asked = self._arguments(record_type, environ.get("QUERY_STRING", ""))
        if asked is None:
            return None
        lang = asked.get("lang") or _negotiate(environ.get("HTTP_ACCEPT_LANGUAGE"))
        with self.engine.connect() as connection:
            row = store.item_row(connection, record_id, record_type, lang)
        if (row is None or row.rendered is None or row.status != store.PUBLISHED
                or row.visibility not in ANONYMOUS.visibilities):
            return None
        only = frozenset(asked["fields"]) if asked.get("fields") else None
        body = orjson.dumps({"data": orjson.Fragment(renditions.project(row.rendered, only))})
        shown = shown_language(row, lang)
        host_url = f"{environ.get('wsgi.url_scheme', 'http')}://{get_host(environ)}/"
        url = (host_url, environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
        etag = etag_of(row.revision, shown, ANONYMOUS, url, revision=row.revision)
        headers = (("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                   *cache_fields(etag, row.updated_at, False, shown, self.max_age))
        return Entry(None, rule.rule, headers, body)

    def _arguments(self, record_type: str, query: str) -> dict[str, Any] | None:
        """The query's arguments, validated by the view's own schema; None when the view
        should answer (a parameter repeated, unknown or invalid: it explains)."""
        if not query:
            return {}
        pairs = parse_qsl(query, keep_blank_values=True)
        names = [name for name, _ in pairs]
        if len(set(names)) != len(names) or not _PARAMETERS.issuperset(names):
            return None
        try:
            return self.schemas[record_type].load(dict(pairs))  # type: ignore[no-any-return]
        except ValidationError:
            return None


def _negotiate(accept_language: str | None) -> str:
    """The view's language rule without ``lang=``: the best ``Accept-Language`` match, else
    English."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    accepted = parse_accept_header(accept_language, LanguageAccept)
    return accepted.best_match(LANGUAGES) or DEFAULT_LANGUAGE

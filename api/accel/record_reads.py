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

import threading
from collections import namedtuple
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson
from marshmallow import ValidationError
from sqlalchemy import Engine
from werkzeug.routing import Map
from werkzeug.wsgi import get_host

from api.accel.response_cache import Entry
from api.services.items import shown_language
from api.storage import renditions, store
from api.storage.store import Viewer
from api.web.http import cache_fields, etag_of, language_for
from api.web.records import item_endpoint
from schemas.fields import DEFAULT_LANGUAGE, ID_RE
from schemas.params import RECORD_ARGS
from schemas.records import SCHEMAS

ANONYMOUS = Viewer()
_UNKNOWN: Any = object()
#: Idle connections kept for these reads (taking one from the engine's pool costs more than
#: the read itself).
MAX_IDLE = 8


class RecordReads:
    """Answers single-record reads from stored renditions (see the module's text)."""

    def __init__(self, url_map: Map, engine: Engine, max_age: int) -> None:
        self.url_map = url_map
        self.engine = engine
        self.max_age = max_age
        #: the views' endpoints (``indicator_item``) by record type
        self.endpoints = {item_endpoint(record_type): record_type for record_type in SCHEMAS}
        self.schemas = {record_type: RECORD_ARGS[record_type]() for record_type in SCHEMAS}
        self._idle: list[Any] = []  # last in, first out: the warmest connection is reused
        self._lock = threading.Lock()
        #: SQLite on this machine: a read takes microseconds and never waits for a writer (WAL),
        #: so the event loop may answer it without handing it to a thread
        self.local = engine.dialect.name == "sqlite"
        self._parsed: dict[tuple[str, str], dict[str, Any] | None] = {}
        compiled = store.ITEM_ROW.compile(dialect=engine.dialect)
        self._sql = compiled.string
        self._positions = compiled.positiontup  # None: the driver takes named parameters
        self._params = compiled.construct_params(
            {"record_id": "", "record_type": "", "lang": DEFAULT_LANGUAGE})

    def close(self) -> None:
        """Close the kept connections (when the engine is disposed)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _row(self, record_id: str, record_type: str, lang: str) -> Any:
        """The record's row (``store.ITEM_COLUMNS``), read with the driver itself on a kept
        connection: the statement is the store's, compiled once; going through SQLAlchemy's
        connection and result objects costs several times what the database takes. Each read is
        its own transaction (ended at once: the next one sees every write committed since)."""
        params = dict(self._params, record_id=record_id, record_type=record_type, lang=lang)
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        if connection is None:
            connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(self._sql, [params[name] for name in self._positions]
                           if self._positions else params)
            found = cursor.fetchone()
            cursor.close()
            connection.rollback()
        except Exception:
            connection.invalidate()
            raise
        if self.local:  # SQLite: kept here (a pool checkout costs more than the read)
            with self._lock:
                if len(self._idle) < MAX_IDLE:
                    self._idle.append(connection)
                    connection = None
        if connection is not None:  # PostgreSQL: back to the engine's pool, which owns it
            connection.close()
        return None if found is None else _item(found)

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
        lang = language_for(asked.get("lang"), environ.get("HTTP_ACCEPT_LANGUAGE"))
        row = self._row(record_id, record_type, lang)
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
        known = self._parsed.get((record_type, query), _UNKNOWN)
        if known is not _UNKNOWN:  # CAD consoles send a handful of parameter sets
            return known
        parsed = self._parse(record_type, query)
        if len(self._parsed) >= 1024:
            self._parsed.clear()
        self._parsed[(record_type, query)] = parsed
        return parsed

    def _parse(self, record_type: str, query: str) -> dict[str, Any] | None:
        pairs = parse_qsl(query, keep_blank_values=True)
        if len({name for name, _ in pairs}) != len(pairs):  # repeated: the view says why
            return None
        try:
            return self.schemas[record_type].load(dict(pairs))  # type: ignore[no-any-return]
        except ValidationError:
            return None


ItemRow = namedtuple("ItemRow", [column.key for column in store.ITEM_COLUMNS])  # type: ignore[misc]


def _item(found: Any) -> Any:
    """A row as the driver gives it, as SQLAlchemy would type it (SQLite gives JSON and
    timestamps as text)."""
    row = ItemRow(*found)
    if isinstance(row.available_langs, str):
        row = row._replace(available_langs=orjson.loads(row.available_langs))
    if isinstance(row.updated_at, str):
        row = row._replace(updated_at=datetime.fromisoformat(row.updated_at))
    return row

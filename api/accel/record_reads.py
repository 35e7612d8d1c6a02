"""Reads no cache holds, answered from stored renditions without Flask.

A CAD fleet asks for every ``id x lang x fields`` combination, and a partner mirror walks every
page of a collection, so most such reads are not in the response cache. Every version's
documents are rendered when it is written (:mod:`api.storage.renditions`), so a single record is
one indexed row and a projection, and a page of a collection is one indexed range of rows. This
module answers an anonymous ``GET`` or ``HEAD`` of ``/api/v1/{collection}/{id}`` (parameters
``lang`` and ``fields``) and of ``/api/v1/{collection}`` in id order (``limit``, ``cursor``,
``lang``, ``fields``) with the bytes and headers the Flask views (:func:`api.web.records.get_one`,
:func:`api.web.records.list_collection`) give, built by the same functions: the parameter
schemas, the language rule, the projection, the page document, the ETag and the caching
headers. Whatever else (a record that is not published and public, a rendition older than this
code, a filter, a search, another order, a parameter it does not take) it declines, and the
Flask view answers. It reads the database on every request: its answers are as fresh as the
views'.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import orjson
from marshmallow import Schema, ValidationError
from sqlalchemy import Engine, bindparam, func, select
from sqlalchemy.sql import Select
from werkzeug.routing import Map
from werkzeug.wrappers import Request

from api.accel.response_cache import Entry
from api.services.items import shown_language
from api.storage import lists, renditions, store
from api.storage.models import Record, Rendition
from api.storage.store import Viewer
from api.web.http import cache_fields, etag_of, language_for, next_link, page_url_of
from api.web.records import item_endpoint, list_endpoint, page_document
from schemas.fields import DEFAULT_LANGUAGE, ID_RE
from schemas.params import LIST_ARGS, RECORD_ARGS
from schemas.records import SCHEMAS

ANONYMOUS = Viewer()
_UNKNOWN: Any = object()
T = TypeVar("T")
#: Idle connections kept for these reads (taking one from the engine's pool costs more than
#: the read itself).
MAX_IDLE = 8
#: List parameters these reads take (with ``sort=id``, the default); anything else is the view's.
PAGE_ARGS = frozenset({"limit", "cursor", "lang", "fields", "sort", "format"})

#: A page of a collection in id order, as the list view reads it without filters (``after``
#: ``""`` for the first page: every id is longer): ids and renditions (a join: a third
#: faster than the view's correlated lookup; no rendition of this code's format gives None).
PAGE = (select(Record.id, Rendition.body)
        .outerjoin(Rendition, store.current_rendition(bindparam("lang"), Record.id,
                                                      Record.version))
        .where(Record.type == bindparam("record_type"), store.visible(ANONYMOUS),
               Record.id > bindparam("after"))
        .order_by(Record.id).limit(bindparam("limit")))
#: How many records such a list holds (``meta.total``).
TOTAL = (select(func.count()).select_from(Record)
         .where(Record.type == bindparam("record_type"), store.visible(ANONYMOUS)))


class _Statement:
    """A statement of the store compiled once for the engine's driver, run on a raw cursor:
    going through SQLAlchemy's connection and result objects costs several times what the
    database takes to answer."""

    def __init__(self, statement: Select[Any], engine: Engine, **defaults: Any) -> None:
        state = statement.compile(dialect=engine.dialect).construct_expanded_state(defaults)
        self.sql = state.statement
        self.positions = state.positiontup  # None: the driver takes named parameters
        self.params = dict(state.parameters)

    def run(self, cursor: Any, **values: Any) -> Any:
        params = dict(self.params, **values)
        cursor.execute(self.sql, [params[name] for name in self.positions]
                       if self.positions else params)
        return cursor


class RecordReads:
    """Answers single reads and pages of collections from stored renditions (see the module's
    text)."""

    def __init__(self, url_map: Map, engine: Engine, max_age: int) -> None:
        self.url_map = url_map
        self.engine = engine
        self.max_age = max_age
        #: the views' endpoints (``indicator_item``, ``indicator_list``) by record type
        self.items = {item_endpoint(record_type): record_type for record_type in SCHEMAS}
        self.lists = {list_endpoint(record_type): record_type for record_type in SCHEMAS}
        self.schemas: dict[str, Schema] = {}
        for record_type in SCHEMAS:
            self.schemas[item_endpoint(record_type)] = RECORD_ARGS[record_type]()
            self.schemas[list_endpoint(record_type)] = LIST_ARGS[record_type]()
        self._idle: list[Any] = []  # last in, first out: the warmest connection is reused
        self._lock = threading.Lock()
        #: SQLite on this machine: a read takes microseconds and never waits for a writer (WAL),
        #: so the event loop may answer it without handing it to a thread
        self.local = engine.dialect.name == "sqlite"
        self._parsed: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._totals: dict[tuple[Any, str], int] = {}  # by data version and record type
        names = {"record_id": "", "record_type": "", "lang": DEFAULT_LANGUAGE, "after": "",
                 "limit": 1}
        self._item = _Statement(store.ITEM_ROW, engine, **names)
        self._page = _Statement(PAGE, engine, **names)
        self._total = _Statement(TOTAL, engine, **names)
        self._version = _Statement(store.VERSION, engine)
        self._state = _Statement(store.LATEST_CHANGE, engine)

    def close(self) -> None:
        """Close the kept connections (when the engine is disposed)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _transaction(self, work: Callable[[Any], T]) -> T:
        """``work(cursor)`` on a kept connection, ended with a rollback (the next one sees every
        write committed since)."""
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        if connection is None:
            connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            done = work(cursor)
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
        return done

    def answer(self, environ: dict[str, Any]) -> Entry | None:
        """The answer to this request, as an entry of the response cache (``version`` None),
        or None to leave it to the Flask view."""
        try:
            rule, arguments = self.url_map.bind_to_environ(environ).match(return_rule=True)
        except Exception:  # no such route (or a redirect): the app answers
            return None
        asked = self._arguments(rule.endpoint, environ.get("QUERY_STRING", ""))
        if asked is None:
            return None
        try:
            return self._answer(rule, arguments, asked, environ)
        except self.engine.dialect.loaded_dbapi.Error:  # the view explains (503)
            return None

    def _answer(self, rule: Any, arguments: dict[str, Any], asked: dict[str, Any],
                environ: dict[str, Any]) -> Entry | None:
        lang = language_for(asked.get("lang"), environ.get("HTTP_ACCEPT_LANGUAGE"))
        only = frozenset(asked["fields"]) if asked.get("fields") else None
        if rule.endpoint in self.items:
            record_id = arguments.get("record_id", "")
            if not ID_RE.fullmatch(record_id):
                return None
            return self._single(self.items[rule.endpoint], record_id, rule.rule, environ,
                                lang, only)
        return self._list(self.lists[rule.endpoint], rule.rule, environ, asked, lang, only)

    def _single(self, record_type: str, record_id: str, route: str, environ: dict[str, Any],
                lang: str, only: frozenset[str] | None) -> Entry | None:
        """``GET /api/v1/{collection}/{id}`` as :func:`api.web.records.get_one` answers it."""
        found = self._transaction(lambda cursor: self._item.run(
            cursor, record_id=record_id, record_type=record_type, lang=lang).fetchone())
        row = None if found is None else _item(found)
        if (row is None or row.rendered is None or row.status != store.PUBLISHED
                or row.visibility not in ANONYMOUS.visibilities):
            return None
        body = orjson.dumps({"data": orjson.Fragment(renditions.project(row.rendered, only))})
        shown = shown_language(row, lang)
        request = Request(environ)
        url = (request.host_url, request.path, request.query_string.decode("latin-1"))
        etag = etag_of(row.revision, shown, ANONYMOUS, url, revision=row.revision)
        headers = (("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                   *cache_fields(etag, row.updated_at, False, shown, self.max_age))
        return Entry(None, route, headers, body)

    def _list(self, record_type: str, route: str, environ: dict[str, Any],
              asked: dict[str, Any], lang: str, only: frozenset[str] | None) -> Entry | None:
        """``GET /api/v1/{collection}`` in id order, without filters, as
        :func:`api.web.records.list_collection` answers it."""
        if (not asked.keys() <= PAGE_ARGS or asked.get("sort", "id") != "id"
                or asked.get("format", "json") != "json"):
            return None
        after = ""
        if asked.get("cursor"):
            try:
                sort, _, after = lists.parse_list_cursor(asked["cursor"])
            except store.CursorError:
                return None
            if sort != "id":
                return None
        limit = asked["limit"]

        def read(cursor: Any) -> tuple[Any, int, list[Any]]:
            # As the view: the change sequence (the ETag) first, then the data version the
            # total is kept under, so what follows is never older than the ETag says.
            state = self._state.run(cursor).fetchone()
            version = tuple(self._version.run(cursor).fetchone() or ("", 0))
            total = self._totals.get((version, record_type))
            if total is None:
                total = self._total.run(cursor, record_type=record_type).fetchone()[0]
                if len(self._totals) >= 64:
                    self._totals.clear()
                self._totals[(version, record_type)] = total
            rows = self._page.run(cursor, record_type=record_type, after=after,
                                  limit=limit + 1, lang=lang).fetchall()
            return state, total, rows

        state, total, rows = self._transaction(read)
        if any(rendered is None for _, rendered in rows):
            return None  # rendered by older code: the view renders it
        next_cursor = lists.id_cursor(rows[limit - 1][0]) if len(rows) > limit else None
        rows = rows[:limit]
        seq, at = (0, None) if state is None else (state[0], _moment(state[1]))
        request = Request(environ)
        next_url = page_url_of(request.base_url, request.args, cursor=next_cursor) \
            if next_cursor else None
        data = [orjson.Fragment(renditions.project(rendered, only)) for _, rendered in rows]
        body = orjson.dumps(page_document(
            record_type, data, lists.Page(rows, total, next_cursor), limit, lang,
            page_url_of(request.base_url, request.args), next_url))
        url = (request.host_url, request.path, request.query_string.decode("latin-1"))
        etag = etag_of(seq, lang, ANONYMOUS, url)
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                   *cache_fields(etag, at, False, lang, self.max_age)]
        if next_url:
            headers.append(("Link", next_link(next_url)))
        return Entry(None, route, tuple(headers), body)

    def _arguments(self, endpoint: str, query: str) -> dict[str, Any] | None:
        """The query's arguments, validated by the view's own schema; None when the view
        should answer (not a read of ours, or a parameter repeated, unknown or invalid: it
        explains)."""
        schema = self.schemas.get(endpoint)
        if schema is None:
            return None
        known = self._parsed.get((endpoint, query), _UNKNOWN)
        if known is not _UNKNOWN:  # CAD consoles send a handful of parameter sets
            return known
        parsed = _parse(schema, query)
        if len(self._parsed) >= 1024:
            self._parsed.clear()
        self._parsed[(endpoint, query)] = parsed
        return parsed


def _parse(schema: Schema, query: str) -> dict[str, Any] | None:
    pairs = parse_qsl(query, keep_blank_values=True)
    if len({name for name, _ in pairs}) != len(pairs):  # repeated: the view says why
        return None
    try:
        return schema.load(dict(pairs))  # type: ignore[no-any-return]
    except ValidationError:
        return None


ItemRow = namedtuple("ItemRow", [column.key for column in store.ITEM_COLUMNS])  # type: ignore[misc]


def _moment(value: Any) -> datetime:
    """A timestamp as SQLAlchemy types it (SQLite gives text)."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _item(found: Any) -> Any:
    """A row as the driver gives it, as SQLAlchemy would type it (SQLite gives JSON and
    timestamps as text)."""
    row = ItemRow(*found)
    if isinstance(row.available_langs, str):
        row = row._replace(available_langs=orjson.loads(row.available_langs))
    return row._replace(updated_at=_moment(row.updated_at))

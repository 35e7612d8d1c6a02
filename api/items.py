"""Rendered list items, kept by everything they are rendered from.

A list page renders each of its records: read the stored content (JSON), pick the language,
add the system fields, serialize. A page of 50 spends most of its time there, and the same
records come back on every other page, filter and mirror pass that shows them. So the JSON of
an item is kept, keyed by what it is made of: the record's id, revision, content hash and
every system field, the language and the ``fields`` asked for. Nothing else goes into an
item (no host, no viewer), so a key can never name a stale rendering: a changed record has
a new key, whichever database, process or restored backup it comes from. Lists then read
their page as plain rows without the content (``store.list_records(..., with_content=False)``)
and the content of the records not kept yet in one query.

Memory is bounded (``MAX_BYTES``, least recently used out first).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.render import render

from . import store
from .models import Record

#: The most bytes of rendered items one process keeps.
MAX_BYTES = 32 * 1024 * 1024


class RenderedItems:
    """A byte-bounded LRU of rendered items (JSON bytes), safe across threads."""

    OVERHEAD = 200  # key and bookkeeping per entry, roughly

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get_many(self, keys: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], bytes]:
        found: dict[tuple[Any, ...], bytes] = {}
        with self._lock:
            for key in keys:
                value = self._items.get(key)
                if value is not None:
                    self._items.move_to_end(key)
                    found[key] = value
        return found

    def put(self, key: tuple[Any, ...], value: bytes) -> None:
        cost = len(value) + self.OVERHEAD
        if cost > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old) + self.OVERHEAD
            self._items[key] = value
            self._size += cost
            while self._size > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._size -= len(evicted) + self.OVERHEAD

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0

    def __len__(self) -> int:
        return len(self._items)


ITEMS = RenderedItems(MAX_BYTES)


def _key(record_type: str, row: Any, lang: str, only: frozenset[str] | None) -> tuple[Any, ...]:
    return (record_type, row.id, row.revision, row.content_hash, row.version, row.status,
            row.visibility, tuple(row.available_langs), row.created_at, row.updated_at,
            row.retired_at, lang, only)


def render_rows(session: Session, record_type: str, rows: list[Any], lang: str,
                only: frozenset[str] | None) -> list[orjson.Fragment]:
    """The rendered items of ``rows`` (records loaded with or without their content), in
    order, as JSON fragments for ``orjson.dumps``. The content of records not kept yet is
    read in one query, with the columns the key is made of: under READ COMMITTED the record
    may have changed since ``rows`` were read: the item is then the newer one (kept under its
    own key), and left out if the change retired or hid it."""
    keys = [_key(record_type, row, lang, only) for row in rows]
    found = ITEMS.get_many(keys)
    missing = [row.id for row, key in zip(rows, keys, strict=True) if key not in found]
    fresh: dict[str, tuple[bytes, str, str]] = {}
    if missing:
        for row in session.execute(select(*store.ITEM_COLUMNS, Record.content)
                                   .where(Record.id.in_(missing))):
            item = orjson.dumps(render(record_type, row.content, store.system_fields(row),
                                       lang, only))
            ITEMS.put(_key(record_type, row, lang, only), item)
            fresh[row.id] = (item, row.status, row.visibility)
    out = []
    for row, key in zip(rows, keys, strict=True):
        item = found.get(key)
        if item is None:
            item, status, visibility = fresh.get(row.id, (None, None, None))
            if item is None or (status, visibility) != (row.status, row.visibility):
                continue  # retired, hidden or gone since the page was read
        out.append(orjson.Fragment(item))
    return out

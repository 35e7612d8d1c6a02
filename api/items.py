"""Rendered list items, kept by everything they are rendered from.

A list page renders each of its records: decode the stored content (JSON), pick the language,
add the system fields, serialize. A page of 50 spends most of its time there, and the same
records come back on every other page, filter and mirror pass that shows them. So the JSON of
an item is kept, keyed by what it is made of: the record's id, revision, content hash and
every system field, the language and the ``fields`` asked for. Nothing else goes into an
item (no host, no viewer), so a key can never name a stale rendering: a changed record has
a new key, whichever database, process or restored backup it comes from. Lists read their
page as plain rows with the content as JSON text
(``store.list_records(..., with_content=False)``, one query as before), and only the items
not kept yet are decoded and rendered.

Memory is bounded (``MAX_BYTES``, least recently used out first; :class:`api.accel.SizedCache`);
with the accelerator off nothing is kept.
"""

from __future__ import annotations

from typing import Any

import orjson

from schemas.render import render

from . import store
from .accel import SizedCache

#: The most bytes of rendered items (and their keys) one process keeps.
MAX_BYTES = 32 * 1024 * 1024
#: Bytes of a key (13 parts: a 64-character hash, the id, datetimes...) and its entry,
#: roughly: small items (``fields=id``) are mostly key, and must count as such.
KEY_BYTES = 1024

ITEMS: SizedCache[tuple[Any, ...], bytes] = SizedCache(
    MAX_BYTES, lambda _key, item: len(item) + KEY_BYTES)


def _key(record_type: str, row: Any, lang: str, only: frozenset[str] | None) -> tuple[Any, ...]:
    return (record_type, row.id, row.revision, row.content_hash, row.version, row.status,
            row.visibility, tuple(row.available_langs), row.created_at, row.updated_at,
            row.retired_at, lang, only)


def render_rows(record_type: str, rows: list[Any], lang: str,
                only: frozenset[str] | None) -> list[orjson.Fragment]:
    """The rendered items of ``rows`` (rows of ``store.ITEM_COLUMNS``), in order, as JSON
    fragments for ``orjson.dumps``: kept ones as they are, the others decoded, rendered and
    kept."""
    keys = [_key(record_type, row, lang, only) for row in rows]
    found = ITEMS.get_many(keys)
    out = []
    for row, key in zip(rows, keys, strict=True):
        item = found.get(key)
        if item is None:
            item = orjson.dumps(render(record_type, orjson.loads(row.content_json),
                                       store.system_fields(row), lang, only))
            ITEMS.put(key, item)
        out.append(orjson.Fragment(item))
    return out

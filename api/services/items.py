"""Records as responses show them, from their renditions (:mod:`api.storage.renditions`).

A list page or a single read fetches each record's rendition in the language asked with the
row itself (``store.ITEM_COLUMNS``) and only projects ``fields``: no decoding, localizing or
serializing of the content. A record without a current rendition (a draft, which editors see,
or one rendered by older code until ``flask renditions`` runs) is rendered from its content.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.orm import Session

from api.storage import renditions, store
from schemas.fields import DEFAULT_LANGUAGE
from schemas.render import ALL_LANGUAGES


def shown_language(row: Any, lang: str) -> str:
    """The language a single record is shown in: ``lang``, or English when the record has no
    text in it (its rendition in ``lang`` is the English text)."""
    return lang if lang == ALL_LANGUAGES or lang in row.available_langs else DEFAULT_LANGUAGE


def render_rows(session: Session, record_type: str, rows: list[Any], lang: str,
                only: frozenset[str] | None) -> list[orjson.Fragment]:
    """The rendered items of ``rows`` (rows of ``store.ITEM_COLUMNS``), in order, as JSON
    fragments for ``orjson.dumps``."""
    missing = [row.id for row in rows if row.rendered is None]
    content = store.contents(session, missing) if missing else {}
    out = []
    for row in rows:
        body = row.rendered
        if body is None:
            body = renditions.render_bytes(record_type, content[row.id],
                                           store.system_fields(row), lang)
        out.append(orjson.Fragment(renditions.project(body, only)))
    return out

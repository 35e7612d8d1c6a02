"""Render once: a published version is rendered when it is written, in each language and in
every language (``*``), and kept beside it (``renditions``); reads fetch the bytes.

A rendition's ``format`` names the code that rendered it (:data:`schemas.render.RENDER_FORMAT`).
After a deploy that changes what a record looks like, reads render stale versions on the fly
(the answer is the same, only slower) until :func:`refresh` (``flask renditions``, also run by
``flask seed``) renders them again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from api.storage.clock import rfc3339
from api.storage.models import Record, RecordVersion, Rendition
from schemas.fields import LANGUAGES
from schemas.records import REGISTRY
from schemas.render import ALL_LANGUAGES, available_languages, render


def _render_format() -> str:
    """A digest of the code that decides what a rendered record holds (the record shapes, the
    registry, the rendering, and this module's system fields) and of the review intervals:
    renditions made by other code or under other intervals are rendered again."""
    schemas = Path(__file__).resolve().parents[2] / "schemas"
    files = [schemas / name for name in ("base.py", "fields.py", "records.py", "registry.py",
                                         "render.py")]
    files += sorted((schemas / "types").glob("*.py"))
    files.append(Path(__file__).resolve())
    digest = hashlib.blake2b(digest_size=8)
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    # and this deployment's review intervals (``review_due``; HTCONTENT_REVIEW_DAYS)
    digest.update(repr([(name, kind.review_days) for name, kind in REGISTRY.types.items()])
                  .encode())
    return digest.hexdigest()


#: Which rendering code made a stored rendition (:class:`api.storage.models.Rendition`).
RENDER_FORMAT = _render_format()
#: Every rendition a version gets: each language and ``*``.
LANGS: tuple[str, ...] = (*LANGUAGES, ALL_LANGUAGES)
#: Fields every projection keeps (``fields=`` may not drop them).
ALWAYS = frozenset({"id", "type", "version"})


def version_system(record_id: str, version: int, status: str, visibility: str,
                   available_langs: list[str], created_at: datetime,
                   published_at: datetime) -> dict[str, Any]:
    """The server-owned fields of a published version, as a response shows them."""
    return {
        "id": record_id, "version": version, "status": status, "visibility": visibility,
        "available_langs": available_langs, "created_at": rfc3339(created_at),
        "updated_at": rfc3339(published_at),
        "retired_at": rfc3339(published_at) if status == "retired" else None,
    }


def render_bytes(record_type: str, content: dict[str, Any], system: dict[str, Any],
                 lang: str) -> bytes:
    """One record rendered in ``lang``, as JSON."""
    return orjson.dumps(render(record_type, content, system, lang))


def rows_for(record_type: str, content: dict[str, Any],
             system: dict[str, Any]) -> list[dict[str, Any]]:
    """The rendition rows of one version (``record_id``, ``version``, ``lang``, ...)."""
    out = []
    for lang in LANGS:
        body = render_bytes(record_type, content, system, lang)
        out.append({"record_id": system["id"], "version": system["version"], "lang": lang,
                    "format": RENDER_FORMAT, "body": body.decode(),
                    "etag": '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'})
    return out


def add(session: Session, record_type: str, content: dict[str, Any],
        system: dict[str, Any]) -> None:
    """Render a version just written (in the caller's transaction)."""
    session.execute(delete(Rendition).where(Rendition.record_id == system["id"],
                                            Rendition.version == system["version"]))
    session.add_all(Rendition(**row) for row in rows_for(record_type, content, system))


def project(body: str | bytes, only: frozenset[str] | None) -> str | bytes:
    """A rendered record with only the fields asked for (and id, type, version)."""
    if only is None:
        return body
    return orjson.dumps({name: value for name, value in orjson.loads(body).items()
                         if name in only or name in ALWAYS})


def stored(session: Session, record_id: str, version: int, lang: str) -> str | None:
    """The current-format rendition of one version, or None."""
    return session.connection().execute(
        select(Rendition.body).where(Rendition.record_id == record_id,
                                     Rendition.version == version, Rendition.lang == lang,
                                     Rendition.format == RENDER_FORMAT)).scalar()


def rendered_version(session: Session, version: RecordVersion, created_at: datetime,
                     lang: str) -> bytes | str:
    """A version as it was published, from its rendition (rendered now if it has none)."""
    body = stored(session, version.record_id, version.version, lang)
    if body is not None:
        return body
    system = version_system(version.record_id, version.version, version.status,
                            version.visibility,
                            available_languages(version.type, version.content), created_at,
                            version.published_at)
    return render_bytes(version.type, version.content, system, lang)


def refresh(session: Session, progress: Callable[[int, int], None] | None = None) -> int:
    """Render every version whose renditions are missing or of another format; the caller
    commits. Returns how many versions were rendered."""
    fresh = (select(func.count()).select_from(Rendition)
             .where(Rendition.record_id == RecordVersion.record_id,
                    Rendition.version == RecordVersion.version,
                    Rendition.format == RENDER_FORMAT)
             .correlate(RecordVersion).scalar_subquery())
    stale = session.execute(
        select(RecordVersion, Record.created_at)
        .join(Record, Record.id == RecordVersion.record_id)
        .where(fresh < len(LANGS))
        .order_by(RecordVersion.record_id, RecordVersion.version)).all()
    for done, (version, created_at) in enumerate(stale, start=1):
        system = version_system(version.record_id, version.version, version.status,
                                version.visibility,
                                available_languages(version.type, version.content),
                                created_at, version.published_at)
        add(session, version.type, version.content, system)
        if progress is not None and (done % 500 == 0 or done == len(stale)):
            progress(done, len(stale))
    session.flush()
    return len(stale)


"""Offline snapshots that are ready in milliseconds, whatever their size.

An export (``GET /api/v1/export?lang=*``) is one JSON document holding every record in every
language. At 100,000 records that is over 100 MB, and ``json.loads`` of it alone takes seconds,
so a client that parsed the whole file before answering its first offline read (as the SDK
once did) kept its caller waiting for it.

**The design.** :meth:`Client.export <htcontent.Client.export>` writes two files:

* ``snapshot.json``, the export exactly as the API sent it (unchanged format, for any tool);
* ``snapshot.json.sqlite``, its *index*: one SQLite row per record (``seq`` -- the record's
  place in the export --, ``id``, ``type``, ``version`` and the record's own JSON text), with a
  unique index by id and an index by type, plus the export's ``sync_token`` and the size,
  modification time and inode of the JSON file it was made from.

Reading offline then needs no load step at all: the client opens the index read-only (a few
milliseconds, independent of size), a ``get`` is one indexed lookup and the ``json.loads`` of
that one record, and a ``list`` walks the type's rows in export order, a page of rows at a time
(no read lock is held between pages), decoding only the records it yields. Filters on the
fields the API can filter on (``setting``, ``category``...) are also checked inside SQLite
(``json_each``) so that rows which cannot match are never decoded; every record is then checked
by the same Python rule as before, so results, their order, and the language handling
(``lang="es"``, ``"*"``, English filling the gaps) are exactly those of the old full scan.

Alternatives considered: a JSON file plus a table of byte offsets still needs that table loaded
(100,000 entries) before the first answer, and a ``list`` still has to decode every record of
a type to filter it; a pickle or ``marshal`` of the parsed list is faster than JSON but still
proportional to the whole file. SQLite is in the standard library, answers by key without
reading the rest, and is what :meth:`Client.sync` already writes.

**Compatibility.** ``snapshot_path`` may name

* an export written by this version (its index is used as is);
* a plain export JSON with no index, or one whose index no longer matches it (written by an
  older SDK, fetched with ``curl``, or replaced since): the first offline read parses it once,
  as before, and writes the index next to it, so every later client is fast. When that
  directory cannot be written, the index is built in memory for this client only;
* a mirror written by :meth:`Client.sync` (recognised by the SQLite header): it is read in
  place, in id order, and nothing else is written.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ._records import FILTER_FIELDS

SQLITE_HEADER = b"SQLite format 3\x00"
INDEX_SUFFIX = ".sqlite"
INDEX_FORMAT = "1"
#: Rows fetched per query while listing (the read lock is released between pages): few at
#: first, so the first record comes at once, then more, up to ``PAGE_ROWS``.
FIRST_PAGE_ROWS = 16
PAGE_ROWS = 1024



class SnapshotError(Exception):
    """The snapshot is missing or cannot be read."""


def index_path(path: str | os.PathLike[str]) -> Path:
    """Where the index of the export at ``path`` lives: ``path`` + ``.sqlite``."""
    target = Path(path)
    return target.with_name(target.name + INDEX_SUFFIX)


def is_sqlite(path: Path) -> bool:
    """Whether ``path`` is an SQLite database (a sync mirror or an index), not an export."""
    try:
        with path.open("rb") as file:
            return file.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def _stamp(stat: os.stat_result) -> dict[str, str]:
    return {"source_size": str(stat.st_size), "source_mtime_ns": str(stat.st_mtime_ns),
            "source_ino": str(stat.st_ino)}


def _fill(db: sqlite3.Connection, records: Iterable[dict[str, Any]], state: dict[str, str]) -> int:
    """Create the index tables in ``db`` and load ``records`` (in export order) into them."""
    db.execute("CREATE TABLE records (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
               "type TEXT NOT NULL, version INTEGER NOT NULL, record TEXT NOT NULL)")
    db.execute("CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    before = db.total_changes
    with db:
        # The first of two records with the same id wins, as in the old scan of the list.
        db.executemany("INSERT OR IGNORE INTO records (seq, id, type, version, record) "
                       "VALUES (?, ?, ?, ?, ?)",
                       ((seq, str(data.get("id")), str(data.get("type")),
                         int(data.get("version") or 0), dumps(data))
                        for seq, data in enumerate(records)))
        count = db.total_changes - before
        db.execute("CREATE INDEX records_type ON records (type)")
        db.executemany("INSERT INTO sync_state (key, value) VALUES (?, ?)",
                       sorted({**state, "format": INDEX_FORMAT}.items()))
    return count


def write_index(json_path: str | os.PathLike[str], body: dict[str, Any],
                stat: os.stat_result | None = None) -> Path:
    """Write the index of the export ``body`` saved at ``json_path``, atomically.

    ``stat`` is that of the JSON file (read from ``json_path`` when not given); the index is
    only used while the file still has that size, modification time and inode.
    """
    target = index_path(json_path)
    temporary = target.with_name(f"{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    state = {"token": str(body.get("meta", {}).get("sync_token") or ""),
             **_stamp(stat or os.stat(json_path))}
    try:
        db = sqlite3.connect(temporary)
        try:
            # Crash safety comes from the rename below, not from a journal.
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
            _fill(db, body.get("data", []), state)
        finally:
            db.close()
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)
    return target


def write_snapshot(path: str | os.PathLike[str], body: dict[str, Any], *,
                   index: bool = True) -> int:
    """Write an export ``body`` to ``path`` (and its index, unless ``index`` is false).

    Each file is replaced atomically; the JSON comes first, so a crash in between leaves an
    index that no longer matches the JSON, which readers detect and rebuild.
    """
    target = Path(path)
    temporary = target.with_name(f"{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        temporary.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)
    if index:
        write_index(target, body, os.stat(target))
    else:
        index_path(target).unlink(missing_ok=True)
    return len(body.get("data", []))


def _connect_read_only(path: Path) -> sqlite3.Connection:
    uri = path.resolve().as_uri() + "?mode=ro"
    return sqlite3.connect(uri, uri=True, check_same_thread=False)


def _matches(data: dict[str, Any], filters: dict[str, Any]) -> bool:
    """The offline filter rule: every filter must share a value with its field."""
    for name, wanted in filters.items():
        wanted_set = set(wanted if isinstance(wanted, list | tuple) else [wanted])
        head, _, tail = FILTER_FIELDS.get(name, name).partition(".")
        have = data.get(head)
        if tail:  # a field of a list of objects: channels.kind
            have = [item.get(tail) for item in have or [] if isinstance(item, dict)]
        have_set = set(have if isinstance(have, list) else [have])
        if not wanted_set & have_set:
            return False
    return True


class SnapshotStore:
    """Read-only access to the records of a snapshot, by id or by type (see the module)."""

    def __init__(self, db: sqlite3.Connection, description: str) -> None:
        self.db = db
        self.description = description
        columns = {row[1] for row in db.execute("PRAGMA table_info(records)")}
        if not {"id", "type", "record"} <= columns:
            raise SnapshotError(f"{description} holds no records table")
        #: Export order for an index, id order for a sync mirror.
        self.order = "seq" if "seq" in columns else "id"
        try:
            db.execute("SELECT json_each.value FROM json_each('[]')").fetchall()
            self.json1 = True
        except sqlite3.OperationalError:  # an SQLite built without JSON functions
            self.json1 = False

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> SnapshotStore:
        """The store for the snapshot at ``path``: its index, a mirror, or a plain export
        (indexed once, next to it or else in memory)."""
        source = Path(path)
        try:
            stat = source.stat()
        except OSError as exc:
            raise SnapshotError(f"there is no snapshot at {source}") from exc
        if is_sqlite(source):
            return cls(_connect_read_only(source), f"the mirror {source}")
        index = index_path(source)
        if index.exists():
            try:
                store = cls(_connect_read_only(index), f"the index {index}")
                state = store.state()
                wanted = {**_stamp(stat), "format": INDEX_FORMAT}
                if all(state.get(key) == value for key, value in wanted.items()):
                    return store
                store.close()
            except (sqlite3.DatabaseError, SnapshotError):
                pass  # damaged or foreign: made again below
        return cls.build(source)

    @classmethod
    def build(cls, source: Path) -> SnapshotStore:
        """Parse the plain export at ``source`` (the slow part, done once) and index it."""
        stat = source.stat()
        try:
            body = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SnapshotError(f"cannot read the snapshot {source}: {exc}") from exc
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise SnapshotError(f"{source} is not an export (no data list)")
        try:
            index = write_index(source, body, stat)
            return cls(_connect_read_only(index), f"the index {index}")
        except (OSError, sqlite3.Error):
            db = sqlite3.connect(":memory:", check_same_thread=False)
            meta = body.get("meta") or {}
            _fill(db, body["data"], {"token": str(meta.get("sync_token") or ""), **_stamp(stat)})
            return cls(db, f"an in-memory index of {source}")

    def state(self) -> dict[str, str]:
        """The ``sync_state`` rows: ``token`` and, for an index, what it was made from."""
        try:
            return dict(self.db.execute("SELECT key, value FROM sync_state").fetchall())
        except sqlite3.OperationalError:
            return {}

    def get(self, record_type: str, record_id: str) -> dict[str, Any] | None:
        """The record ``record_id`` if it is of ``record_type``, decoded (multilingual)."""
        row = self.db.execute("SELECT record FROM records WHERE id = ? AND type = ?",
                              (record_id, record_type)).fetchone()
        if row is None:
            return None
        data: dict[str, Any] = json.loads(row[0])
        return data

    def records(self, record_type: str, filters: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The records of ``record_type`` matching ``filters``, decoded one by one, in order."""
        where, params = ["type = ?"], [record_type]
        if self.json1:
            for name, wanted in filters.items():
                values = list(wanted) if isinstance(wanted, list | tuple) else [wanted]
                field = FILTER_FIELDS.get(name)
                if field is None or not values or not all(isinstance(v, str) for v in values):
                    continue  # left to the Python rule alone
                marks = ", ".join("?" * len(values))
                head, _, tail = field.partition(".")
                if tail:  # a field of a list of objects: channels.kind
                    where.append(f"EXISTS (SELECT 1 FROM json_each(record, '$.{head}') AS j "
                                 f"WHERE json_extract(j.value, '$.{tail}') IN ({marks}))")
                else:  # array elements and scalars by value; an object by its keys, as set()
                    where.append(f"EXISTS (SELECT 1 FROM json_each(record, '$.{field}') AS j "
                                 "WHERE (CASE WHEN typeof(j.key) = 'text' THEN j.key "
                                 f"ELSE j.value END) IN ({marks}))")
                params.extend(values)
        base = (f"SELECT {self.order}, record FROM records WHERE {' AND '.join(where)}")
        size = FIRST_PAGE_ROWS
        rows = self.db.execute(f"{base} ORDER BY {self.order} LIMIT ?",
                               [*params, size]).fetchall()
        while True:
            for _key, text in rows:
                data = json.loads(text)
                if _matches(data, filters):
                    yield data
            if len(rows) < size:
                return
            # The next page starts after the last row seen (keyset paging, no lock held).
            size = min(size * 4, PAGE_ROWS)
            rows = self.db.execute(f"{base} AND {self.order} > ? ORDER BY {self.order} LIMIT ?",
                                   [*params, rows[-1][0], size]).fetchall()

    def close(self) -> None:
        self.db.close()

"""Values computed from the tables (list totals, search rankings), kept per data version:
part of the accelerator (:mod:`api.accel`)."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy.orm import Session

from api import accel
from api.accel import facets
from api.storage.store import WRITING, data_version


class VersionMemo:
    """Values computed from the tables (list totals, search rankings), kept per database until
    the next write transaction commits. The version is read before the value is computed, so a
    value is never older than the version it is filed under."""

    MAX_ITEMS = 4096
    #: A ranking longer than this is not kept, and all kept values together hold at most
    #: MAX_HELD items, so memory stays bounded whatever callers search for.
    MAX_LIST = 20_000
    MAX_HELD = 200_000

    def __init__(self) -> None:
        self._versions: dict[str, tuple[str, int]] = {}
        self._values: dict[tuple[Any, ...], Any] = {}
        self._held = 0
        self._lock = threading.Lock()

    def get(self, session: Session, key: tuple[Any, ...], compute: Any) -> Any:
        if session.info.get(WRITING) or not accel.enabled():
            return compute()
        database = str(session.get_bind().url)
        version = data_version(session)
        with self._lock:
            if self._versions.get(database) != version:
                self._versions[database] = version
                for stale in [k for k in self._values if k[0] == database]:
                    gone = self._values.pop(stale)
                    self._held -= _size(gone)
            found = self._values.get((database, *key), _MISSING)
        if found is not _MISSING:
            return found
        value = compute()
        size = _size(value)
        if size > self.MAX_LIST:
            return value  # too big to keep: computed again next time
        with self._lock:
            if self._versions.get(database) == version:
                if len(self._values) >= self.MAX_ITEMS or self._held + size > self.MAX_HELD:
                    self._values.clear()
                    self._held = 0
                self._values[(database, *key)] = value
                self._held += size
        return value


def _size(value: Any) -> int:
    """Items a memoized value holds: a list's or ranking's length, else one."""
    return len(value) if isinstance(value, list | facets.Ranking) else 1

_MISSING = object()

MEMO = VersionMemo()

"""The read accelerator: anonymous GETs answered from a per-process response cache.

CAD screens and partner mirrors ask for the same few URLs over and over. The first anonymous
``GET`` of a URL goes through the whole app; if the answer is a public ``200`` with an ETag,
its bytes and headers are kept. The edge (:mod:`api.edge.pipeline`) asks the cache first
(:meth:`ResponseCache.lookup`) and replays a kept answer without Flask, the serializer or any
query of the records; everything a request gets besides its answer (request id, rate limits,
304s, CORS, security headers, the access log and metrics) is the edge's, the same on both
paths. A kept answer is valid for one data version (``write_lock``: a random epoch per database
and a counter bumped inside every transaction that changes a record; see
:func:`api.storage.publish.lock_writes`). A request that is keyed, conditional in a way the
edge does not evaluate (``If-Modified-Since``, ``Range``, ``If-Match``), oversized, or arrives
while the database cannot be reached takes the full path, which knows how to answer it.

Why a version read and not a notification: it is the only check that is exact across
processes and instances (a write through one instance is never hidden by another's cache). On
PostgreSQL it is one round trip per request. On SQLite, every process on the machine counts its
write transactions in shared memory (:mod:`api.accel.writecount`): the version is read again (a
one-row read on a pooled connection of this module's own) only when a write ended since, or a
tenth of a second passed, so a hit touches no database at all. A request that misses files its
answer under the version read before it ran, so the answer is never older than its version.
(The full path reads the version again, after the change sequence its ETag comes from: what it
takes from its own per-version memos is then never older than its ETag.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter

from api import accel
from api.accel import SizedCache
from api.accel.data_version import DataVersion, Version

#: Request headers that make a request bypass the cache: keys (the answer depends on who asks),
#: and conditions the fast path does not evaluate itself.
BYPASS = ("HTTP_AUTHORIZATION", "HTTP_X_API_KEY", "HTTP_IF_MODIFIED_SINCE", "HTTP_RANGE",
          "HTTP_IF_RANGE", "HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE")
#: Request headers that are part of the cache key, and the longest value kept in a key.
KEYED_HEADERS = ("HTTP_HOST", "HTTP_ACCEPT_LANGUAGE", "HTTP_ACCEPT")
MAX_KEYED_HEADER = 256
#: Headers the edge writes per request, never stored.
PER_REQUEST = frozenset({"x-request-id", "set-cookie", "date", "server"})
#: ``environ`` key of the matched route, which the edge leaves for :meth:`ResponseCache.fill`.
ROUTE_KEY = "htcontent.route"
#: ``environ`` key of the data version :meth:`ResponseCache.lookup` read, for the fill.
VERSION_KEY = "htcontent.data_version"
CACHE = Counter("htcontent_response_cache_total",
                "Anonymous GETs by what the response cache did: hit (answered from it), read "
                "(a single record answered from its stored rendition, then kept), miss (not "
                "there, or written since) or bypass (keyed or conditional, oversized, database "
                "unreachable)", ["outcome"])
HITS = CACHE.labels("hit")
READS = CACHE.labels("read")
MISSES = CACHE.labels("miss")
BYPASSES = CACHE.labels("bypass")


@dataclass(frozen=True)
class Entry:
    """One kept answer: the version it is valid for, its route, headers and body."""

    version: Version | None  # None: not kept (yet)
    route: str  # the URL rule, for logs, metrics and rate limits
    headers: tuple[tuple[str, str], ...]  # the 200's headers, without per-request ones
    body: bytes


class ResponseCache:
    """The kept answers, and the WSGI app that fills them (it calls the Flask app)."""

    def __init__(self, wsgi_app: Any, config: dict[str, Any], max_bytes: int,
                 max_entry_bytes: int, reads: Any = None) -> None:
        self.wsgi_app = wsgi_app
        self.reads = reads  # single-record reads from stored renditions (record_reads.py)
        self.max_entry_bytes = max_entry_bytes
        self.version = DataVersion(config["DATABASE_URL"], config["DB_CONNECT_TIMEOUT"],
                                   config.get("RESPONSE_CACHE_TRUST_MS", 0) / 1000)
        self.base_path = config["BASE_PATH"] + "/"
        self._entries: SizedCache[tuple[Any, ...], Entry] = SizedCache(max_bytes, self._cost)
        self._seen: Version | None = None

    @staticmethod
    def _cost(key: tuple[Any, ...], entry: Entry) -> int:
        """Bytes an entry holds, roughly: body, headers, key, and object overhead."""
        return (len(entry.body) + 2048
                + 2 * sum(len(name) + len(value) for name, value in entry.headers)
                + sum(len(part) for part in key if isinstance(part, str)))

    def clear(self) -> None:
        self._entries.clear()

    def lookup(self, environ: dict[str, Any], wait: bool = True) -> Entry | None:
        """The kept answer to this ``GET`` or ``HEAD``, if there is one for the current data
        version, else a single-record read answered from its stored rendition
        (:mod:`api.accel.record_reads`), then kept. ``wait=False`` (the event loop): only if
        knowing that version needs no database read (:meth:`DataVersion.peek`), and a record
        is read only on SQLite (microseconds, never waiting for a writer); nothing is counted
        then when there is no answer, as the request is asked again on a thread."""
        if not self._ours(environ):
            return None
        if not _cacheable(environ):
            if wait:
                BYPASSES.inc()
            return None
        if wait:
            version = self.version.read()
            if version is None:  # the database is unreachable: the full path says so
                BYPASSES.inc()
                return None
            if version != self._seen:  # data changed: every entry is stale, free their memory
                self._seen = version
                self.clear()
        else:
            version = self.version.peek()
            if version is None or version != self._seen:
                return None
        key = _key(environ)
        entry = self._entries.get(key)
        if entry is not None and entry.version == version:
            HITS.inc()
            return entry
        if self.reads is not None and (wait or self.reads.local):
            entry = self._read(key, version, environ)
            if entry is not None:
                return entry
        if wait:
            MISSES.inc()
            environ[VERSION_KEY] = version
        return None

    def _read(self, key: tuple[Any, ...], version: Version,
              environ: dict[str, Any]) -> Entry | None:
        """A single-record read answered from its stored rendition, kept; None when the app
        must answer it."""
        assert self.reads is not None
        entry = self.reads.answer(environ)
        if entry is None:
            return None
        READS.inc()
        entry = Entry(version, entry.route, entry.headers, entry.body)  # read after the version
        self._entries.put(key, entry)
        return entry

    def _ours(self, environ: dict[str, Any]) -> bool:
        """The request is for the API (not the docs, metrics or health checks)."""
        path = environ.get("PATH_INFO", "")
        return path.startswith(self.base_path) or path == self.base_path[:-1]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        """The app's answer; kept when :meth:`lookup` missed it and it is a public ``200`` to
        a ``GET``, with an ETag and a length no larger than an entry may be."""
        version = environ.pop(VERSION_KEY, None)
        if version is None or environ.get("REQUEST_METHOD") != "GET":
            if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") and self.version.trust_seconds:
                self.version.forget()  # before: a read racing this write asks again
                try:
                    return self.wsgi_app(environ, start_response)
                finally:
                    self.version.forget()  # and after it committed
            return self.wsgi_app(environ, start_response)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info) if exc_info else \
                start_response(status, headers)

        result = self.wsgi_app(environ, capture)
        headers = captured.get("headers", [])
        lowered = {name.lower(): value for name, value in headers}
        length = lowered.get("content-length", "")
        if (not captured.get("status", "").startswith("200")
                or not lowered.get("cache-control", "").startswith("public")
                or "etag" not in lowered or "set-cookie" in lowered
                # streamed (no length) or too large: passed on as it comes, never buffered
                or not length.isdigit() or int(length) > self.max_entry_bytes):
            return result
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        kept = tuple((name, value) for name, value in headers if name.lower() not in PER_REQUEST)
        self._entries.put(_key(environ), Entry(version, environ.get(ROUTE_KEY) or "unmatched",
                                               kept, body))
        return [body]


def _key(environ: dict[str, Any]) -> tuple[Any, ...]:
    """What a kept answer is filed under: the URL and every request header it may depend on."""
    return (environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""),
            environ.get("HTTP_HOST"), environ.get("SERVER_NAME"), environ.get("SERVER_PORT"),
            environ.get("wsgi.url_scheme"), environ.get("SCRIPT_NAME", ""),
            environ.get("HTTP_ACCEPT_LANGUAGE"), environ.get("HTTP_ACCEPT"))


def _cacheable(environ: dict[str, Any]) -> bool:
    """No key and no condition the edge does not evaluate (the edge refused oversized requests
    before asking), and keys stay small: memory is bounded."""
    if any(name in environ for name in BYPASS):
        return False
    return all(len(environ.get(name) or "") <= MAX_KEYED_HEADER for name in KEYED_HEADERS)


def make(app: Any, wsgi_app: Any, reads: Any = None) -> ResponseCache | None:
    """A response cache in front of ``wsgi_app`` (unless the accelerator is off,
    ``RESPONSE_CACHE_MB`` is 0 or the database is one no other connection can see); on a miss
    it asks what ``reads(url_map, engine, max_age)`` makes
    (:class:`api.accel.record_reads.RecordReads`) before the app."""
    config = app.config
    if (not accel.enabled() or config["RESPONSE_CACHE_MB"] <= 0
            or not DataVersion.usable(config["DATABASE_URL"])):
        return None
    cache = ResponseCache(wsgi_app, config, max_bytes=config["RESPONSE_CACHE_MB"] * 1024 * 1024,
                          max_entry_bytes=config["RESPONSE_CACHE_ENTRY_KB"] * 1024,
                          reads=None if reads is None else reads(
                              app.url_map, app.extensions["db_engine"], config["CACHE_MAX_AGE"]))
    app.extensions["response_cache"] = cache
    return cache


def bind_engine(app: Any, engine: Any) -> None:
    """Close the cache's own connections when the app's engine is disposed."""
    from sqlalchemy import event

    cache = app.extensions.get("response_cache")
    if cache is not None:
        def close(_engine: Any) -> None:
            cache.version.close()
            if cache.reads is not None:
                cache.reads.close()

        event.listen(engine, "engine_disposed", close)

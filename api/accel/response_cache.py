"""The read fast path: anonymous GETs answered from a per-process response cache.

CAD screens and partner mirrors ask for the same few URLs over and over. The first anonymous
``GET`` of a URL goes through the whole app; if the answer is a public ``200`` with an ETag,
its bytes and headers are kept. Later identical requests are answered by this WSGI middleware
without Flask, the serializer or any query of the records: it checks the data version
(``write_lock``: a random epoch per database and a counter bumped inside every transaction
that changes a record; see :func:`api.storage.publish.lock_writes`), and replays the
stored answer, or a ``304`` when ``If-None-Match`` names its ETag. The app's ``304`` to a
conditional ``GET`` is kept as well (its ETag and headers, no body), for clients that poll with
their ETag and never ask for the body again; it answers only requests naming that ETag.

What every answer still gets, exactly as on the full path: rate limiting (the same
Flask-Limiter storage and counters), a request id, the access-log line and the Prometheus
metrics. A request that is keyed, conditional in any other way (``If-Modified-Since``,
``Range``), oversized, or arrives while the database cannot be reached takes the full path, which
knows how to answer it (401, 414, 503, ...).

Why a version read and not a notification: it is the only check that is exact across
processes and instances (a write through one instance is never hidden by another's cache). On
PostgreSQL it is one round trip per request. On SQLite, every process on the machine counts its
write transactions in shared memory (:mod:`api.accel.writecount`): the version is read again (a
one-row read on a pooled connection of this middleware's own) only when a write ended since,
or a tenth of a second passed, so a hit touches no database at all. A request that misses
files its answer under the version read before it ran, so the answer is never older than its
version. (The full path reads the version again, after the change sequence its ETag comes
from: what it takes from its own per-version memos is then never older than its ETag.)
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, request
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter
from werkzeug.http import remove_entity_headers

from api import accel
from api.accel import SizedCache
from api.accel.data_version import DataVersion, Version
from api.edge import observability
from api.edge.protection import SECURITY_HEADERS
from api.web.http import MAX_HEADER_LENGTH, MAX_URL_LENGTH, REQUEST_ID, etag_matches

#: Request headers that make a request bypass the cache: keys (the answer depends on who asks),
#: and conditions the fast path does not evaluate itself.
BYPASS = ("HTTP_AUTHORIZATION", "HTTP_X_API_KEY", "HTTP_IF_MODIFIED_SINCE", "HTTP_RANGE",
          "HTTP_IF_RANGE", "HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE")
#: Request headers that are part of the cache key, and the longest value kept in a key.
KEYED_HEADERS = ("HTTP_HOST", "HTTP_ACCEPT_LANGUAGE", "HTTP_ACCEPT", "HTTP_ORIGIN")
MAX_KEYED_HEADER = 256
#: Headers written per request, never stored.
PER_REQUEST = frozenset({"x-request-id", "x-ratelimit-limit", "x-ratelimit-remaining",
                         "x-ratelimit-reset", "ratelimit-limit", "ratelimit-remaining",
                         "ratelimit-reset", "retry-after", "set-cookie", "date", "server"})
HITS = observability.CACHE.labels("hit")
MISSES = observability.CACHE.labels("miss")
BYPASSES = observability.CACHE.labels("bypass")
#: Where the full path leaves the route and the rate limit it applied, for :meth:`_fill`.
NOTE_KEY = "htcontent.fastpath"
#: ``environ`` flag of a request the event loop asks about (:mod:`api.edge.asgi`): the cache
#: answers it from memory or returns :data:`DECLINED`, and never calls the app.
HITS_ONLY = "htcontent.hits_only"
#: ``environ`` key where :meth:`ResponseCache.answer_now` leaves its answer for the event loop:
#: (status code, headers as bytes, body).
ANSWER = "htcontent.answer"
#: What the WSGI chain returns for a ``HITS_ONLY`` request: answered (see ``ANSWER``) or not.
ANSWERED: list[bytes] = []
DECLINED: list[bytes] = []


@dataclass(frozen=True)
class Entry:
    """One stored answer: what it is valid for and what to replay."""

    version: Version
    etag: str
    headers: list[tuple[str, str]]  # the 200's headers, without the per-request ones ([]: a 304)
    not_modified_headers: list[tuple[str, str]]  # the same for a 304
    body: bytes | None  # None: kept from a 304, it answers only If-None-Match naming ``etag``
    limit: Any  # the rate limit the full path applied (a ``limits`` item), or None
    scope: str  # Flask-Limiter's scope for this route
    route: str  # the URL rule, for logs and metrics
    # ``headers`` and ``not_modified_headers`` as the event loop sends them (made once)
    wire: list[tuple[bytes, bytes]] = field(init=False, repr=False)
    wire_not_modified: list[tuple[bytes, bytes]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "wire", wire(self.headers))
        object.__setattr__(self, "wire_not_modified", wire(self.not_modified_headers))








class ResponseCache:
    """WSGI middleware in front of the Flask app (inside ProxyFix and the host check)."""

    def __init__(self, wsgi_app: Any, flask_app: Any, max_bytes: int,
                 max_entry_bytes: int) -> None:
        self.wsgi_app = wsgi_app
        self.flask_app = flask_app
        self.max_entry_bytes = max_entry_bytes
        config = flask_app.config
        self.version = DataVersion(config["DATABASE_URL"], config["DB_CONNECT_TIMEOUT"],
                                   config.get("RESPONSE_CACHE_TRUST_MS", 0) / 1000)
        self.base_path = config["BASE_PATH"] + "/"
        self.key_prefix = config.get("RATELIMIT_KEY_PREFIX", "")
        self._entries: SizedCache[tuple[Any, ...], Entry] = SizedCache(max_bytes, self._cost)
        self._metrics: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self._limit_keys: dict[tuple[Any, str, str], str] = {}
        self._seen: Version | None = None

    # ------------------------------------------------------------------------- the cache

    @staticmethod
    def _cost(key: tuple[Any, ...], entry: Entry) -> int:
        """Bytes an entry holds, roughly: body, headers, key, and object overhead."""
        return (len(entry.body or b"") + 2048
                + 2 * sum(len(name) + len(value) for name, value in entry.headers)
                + 2 * sum(len(name) + len(value) for name, value in entry.not_modified_headers)
                + sum(len(part) for part in key if isinstance(part, str)))

    def clear(self) -> None:
        self._entries.clear()

    # ------------------------------------------------------------------------ the request

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if HITS_ONLY in environ:  # from the event loop: answer now or not at all
            return ANSWERED if self.answer_now(environ) else DECLINED
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD"):
            if self.version.trust_seconds > 0:
                self.version.forget()  # before: a read racing this write asks again
                try:
                    return self.wsgi_app(environ, start_response)
                finally:
                    self.version.forget()  # and after it committed
            return self.wsgi_app(environ, start_response)
        if not self._ours(environ):
            return self.wsgi_app(environ, start_response)
        if not self._cacheable(environ):
            return self._bypass(environ, start_response)
        started = time.perf_counter()
        version = self.version.read()
        if version is None:  # the database is unreachable: the full path says so
            return self._bypass(environ, start_response)
        if version != self._seen:  # data changed: every entry is stale, free their memory
            self._seen = version
            self.clear()
        key = _key(environ)
        entry = self._stored(key, version, environ)
        if entry is not None:
            answered = self._answer(entry, environ, start_response, method, started)
            if answered is not None:
                HITS.inc()
                return answered
        MISSES.inc()
        return self._fill(key, version, environ, start_response, method)

    def answer_now(self, environ: dict[str, Any]) -> bool:
        """Answer ``environ`` from memory if that needs no waiting: no database read
        (:meth:`DataVersion.peek`) and rate limits counted in this process's memory. The
        answer is left in ``environ[ANSWER]`` (status code, headers as bytes, body) for the
        event loop (:mod:`api.edge.asgi`) to send. False otherwise, with nothing counted (except a
        request over its rate limit, which the full path then refuses; its counter is past the
        limit already): the request then goes through :meth:`__call__` as usual, on a thread,
        where waiting is allowed."""
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD")
        if (method not in ("GET", "HEAD") or not self._ours(environ)
                or not self._cacheable(environ) or not self._local_limits()):
            return False
        version = self.version.peek()
        if version is None or version != self._seen:
            return False
        entry = self._stored(_key(environ), version, environ)
        if entry is None:
            return False
        reply = self._reply(entry, environ, method, started)
        if reply is None:
            return False
        HITS.inc()
        not_modified, extra, body = reply
        environ[ANSWER] = (304 if not_modified else 200,
                           [*(entry.wire_not_modified if not_modified else entry.wire),
                            *wire(extra)], body)
        return True

    def _stored(self, key: tuple[Any, ...], version: Version,
                environ: dict[str, Any]) -> Entry | None:
        """The entry that answers this request at ``version``: a kept 200, or a kept 304 when
        the request names its ETag."""
        entry = self._entries.get(key)
        if entry is None or entry.version != version or (
                entry.body is None and not _names(environ, entry.etag)):
            return None
        return entry

    def _ours(self, environ: dict[str, Any]) -> bool:
        """The request is for the API (not the docs, metrics or health checks)."""
        path = environ.get("PATH_INFO", "")
        return path.startswith(self.base_path) or path == self.base_path[:-1]

    @staticmethod
    def _cacheable(environ: dict[str, Any]) -> bool:
        """No key, no condition the cache does not evaluate, nothing oversized."""
        if any(name in environ for name in BYPASS):
            return False
        if (len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", ""))
                > MAX_URL_LENGTH - 64):
            return False
        for name, value in environ.items():
            if (type(value) is str and len(value) > MAX_HEADER_LENGTH
                    and (name.startswith("HTTP_") or name in ("CONTENT_TYPE", "CONTENT_LENGTH"))):
                return False
        # keys stay small: memory is bounded
        return all(len(environ.get(name) or "") <= MAX_KEYED_HEADER for name in KEYED_HEADERS)

    def _local_limits(self) -> bool:
        """Rate limits are counted in this process's memory (not in Redis)."""
        limiter = self.flask_app.extensions.get("rate_limiter")
        return limiter is None or isinstance(limiter.limiter.storage, MemoryStorage)

    def _bypass(self, environ: dict[str, Any], start_response: Any) -> Any:
        BYPASSES.inc()
        return self.wsgi_app(environ, start_response)

    def _answer(self, entry: Entry, environ: dict[str, Any], start_response: Any, method: str,
                started: float) -> list[bytes] | None:
        reply = self._reply(entry, environ, method, started)
        if reply is None:
            return None
        not_modified, extra, body = reply
        if not_modified:
            start_response("304 NOT MODIFIED", [*entry.not_modified_headers, *extra])
        else:
            start_response("200 OK", [*entry.headers, *extra])
        return [body]

    def _reply(self, entry: Entry, environ: dict[str, Any], method: str,
               started: float) -> tuple[bool, list[tuple[str, str]], bytes] | None:
        """(a 304?, the per-request headers, the body) of a stored answer, counted, logged and
        measured; None when the client is over its rate limit (the full path answers 429)."""
        client = environ.get("REMOTE_ADDR") or "unknown"
        limit_headers = self._hit_limit(entry, client)
        if limit_headers is None:  # over the limit (or no limiter): the full path answers 429
            return None
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if REQUEST_ID.fullmatch(incoming) else os.urandom(16).hex()
        not_modified = _names(environ, entry.etag)
        body = (entry.body if not not_modified and method == "GET" and entry.body is not None
                else b"")
        limit_headers.append(("X-Request-ID", request_id))
        self._observe(method, entry.route, "304" if not_modified else "200", started,
                      request_id, environ.get("PATH_INFO", ""), client)
        return not_modified, limit_headers, body

    def _hit_limit(self, entry: Entry, client: str) -> list[tuple[str, str]] | None:
        """Count this request against the same Flask-Limiter counter the full path uses."""
        if entry.limit is None:
            return []
        item = entry.limit
        strategy = self.flask_app.extensions["rate_limiter"].limiter
        try:
            if type(strategy) is FixedWindowRateLimiter:  # the default: two storage calls
                key = self._limit_keys.get((item, client, entry.scope))
                if key is None:
                    key = item.key_for(*self._limit_args(client, entry.scope))
                    if len(self._limit_keys) > 10_000:
                        self._limit_keys.clear()
                    self._limit_keys[(item, client, entry.scope)] = key
                count = strategy.storage.incr(key, item.get_expiry())
                if count > item.amount:
                    return None
                remaining, reset_time = item.amount - count, strategy.storage.get_expiry(key)
            else:
                args = self._limit_args(client, entry.scope)
                if not strategy.hit(item, *args):
                    return None
                stats = strategy.get_window_stats(item, *args)
                remaining, reset_time = stats.remaining, stats.reset_time
        except Exception:  # storage down: the full path decides (it falls back to memory)
            return None
        reset = int(reset_time + 1)
        amount, remaining = str(item.amount), str(remaining)
        return [("X-RateLimit-Limit", amount), ("X-RateLimit-Remaining", remaining),
                ("X-RateLimit-Reset", str(reset)), ("RateLimit-Limit", amount),
                ("RateLimit-Remaining", remaining),
                ("RateLimit-Reset", str(max(0, reset - int(time.time()))))]

    def _limit_args(self, client: str, scope: str) -> list[str]:
        """Flask-Limiter's identifiers for an anonymous client's limit on one route."""
        args = [f"ip:{client}", scope]
        if self.key_prefix:
            args.insert(0, self.key_prefix)
        return args

    def _observe(self, method: str, route: str, status: str, started: float, request_id: str,
                 path: str, client: str) -> None:
        duration = time.perf_counter() - started
        children = self._metrics.get((method, route, status))
        if children is None:
            children = (observability.REQUESTS.labels(method, route, status),
                        observability.LATENCY.labels(method, route, status))
            self._metrics[(method, route, status)] = children
        children[0].inc()
        children[1].observe(duration)
        observability.log_request(request_id, method, path, route, int(status), duration, None,
                                  client, cache="hit")

    def _fill(self, key: tuple[Any, ...], version: Version, environ: dict[str, Any],
              start_response: Any, method: str) -> Any:
        """The full path; its answer is kept when it is a public 200 with an ETag, or a public
        304 to a GET: clients that poll with their ETag (a record's stays current through
        writes to others, which drop every kept answer) never ask for the body again, and are
        answered from memory from their second poll on."""
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"] = status
            captured["headers"] = headers
            return start_response(status, headers, exc_info) if exc_info else \
                start_response(status, headers)

        result = self.wsgi_app(environ, capture)
        status = captured.get("status", "")
        if method != "GET" or not status.startswith(("200", "304")):
            return result
        headers = captured["headers"]
        lowered = {name.lower(): value for name, value in headers}
        if (not lowered.get("cache-control", "").startswith("public")
                or "etag" not in lowered or "set-cookie" in lowered
                or NOTE_KEY not in environ):
            return result
        limit, scope, route = environ[NOTE_KEY]
        if status.startswith("304"):
            existing = self._entries.get(key)
            # A kept 200 answers 304s too; one from another version is newer or about to go.
            if existing is None or (existing.body is None and existing.version != version):
                kept = [(name, value) for name, value in headers
                        if name.lower() not in PER_REQUEST]
                self._entries.put(key, Entry(version, lowered["etag"], [], kept, None, limit,
                                             scope, route))
            return result
        length = lowered.get("content-length", "")
        # streamed (no length) or too large: passed on as it comes, never buffered
        if not length.isdigit() or int(length) > self.max_entry_bytes:
            return result
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        kept = [(name, value) for name, value in headers if name.lower() not in PER_REQUEST]
        self._entries.put(key, Entry(version, lowered["etag"], kept, _not_modified_headers(kept),
                                     body, limit, scope, route))
        return [body]


def wire(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Headers as an ASGI server takes them: lowercase names, latin-1 bytes."""
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]


def _key(environ: dict[str, Any]) -> tuple[Any, ...]:
    """What a stored answer is filed under: the URL and every request header it may depend on."""
    return (environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""),
            environ.get("HTTP_HOST"), environ.get("SERVER_NAME"), environ.get("SERVER_PORT"),
            environ.get("wsgi.url_scheme"), environ.get("SCRIPT_NAME", ""),
            environ.get("HTTP_ACCEPT_LANGUAGE"), environ.get("HTTP_ACCEPT"),
            environ.get("HTTP_ORIGIN"))


def _names(environ: dict[str, Any], etag: str) -> bool:
    """The request's ``If-None-Match`` names ``etag``."""
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    return if_none_match is not None and etag_matches(if_none_match, etag)


def init_app(app: Any) -> None:
    """Put the response cache in front of ``app`` (unless the accelerator is off,
    ``RESPONSE_CACHE_MB`` is 0 or the database is one no other connection can see). Call
    before any other WSGI middleware, so it sits innermost and sees requests as ProxyFix and
    the host check leave them."""
    config = app.config
    if (not accel.enabled() or config["RESPONSE_CACHE_MB"] <= 0
            or not DataVersion.usable(config["DATABASE_URL"])):
        return
    cache = ResponseCache(app.wsgi_app, app, max_bytes=config["RESPONSE_CACHE_MB"] * 1024 * 1024,
                          max_entry_bytes=config["RESPONSE_CACHE_ENTRY_KB"] * 1024)
    app.wsgi_app = cache
    app.extensions["response_cache"] = cache
    app.after_request(_note_full_path)


def _note_full_path(response: Any) -> Any:
    """After the full path answered an anonymous GET: note its route and rate limit."""
    if request.method == "GET" and response.status_code in (200, 304):
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        note_request(request.environ, route, current_app.extensions.get("rate_limiter"))
    return response


def bind_engine(app: Any, engine: Any) -> None:
    """Close the cache's own connections when the app's engine is disposed."""
    from sqlalchemy import event

    cache = app.extensions.get("response_cache")
    if cache is not None:
        event.listen(engine, "engine_disposed", lambda _engine: cache.version.close())


def _not_modified_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """What the full path sends with a 304: werkzeug drops the entity headers; ``Link`` and the
    security headers (which describe a body) come only with a body."""
    from werkzeug.datastructures import Headers

    kept = Headers(headers)
    remove_entity_headers(kept)
    for name in ("Link", *SECURITY_HEADERS):
        kept.remove(name)
    return list(kept.items())


def note_request(environ: dict[str, Any], route: str, limiter: Any) -> None:
    """Called by the full path after an anonymous GET: its route and the rate limit applied
    (None when the route is exempt), so a stored answer is limited and counted the same way."""
    current = limiter.current_limit if limiter is not None else None
    if current is not None and current.breached:
        return
    if limiter is not None and len(limiter.current_limits) > 1:
        return  # the fast path counts one limit; with several, every answer takes the full path
    if current is None:
        environ[NOTE_KEY] = (None, "", route)
    else:
        environ[NOTE_KEY] = (current.limit, current.request_args[-1], route)

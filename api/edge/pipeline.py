"""The edge: what every request gets, written once, in front of the response cache and the app.

Every request, whoever answers it (an answer kept by the response cache, or the Flask app),
passes through :class:`Edge` and gets, in this order:

1. a request id (the client's ``X-Request-ID`` when well formed, else a new one);
2. the size checks: a URL or a header over 8 KiB is a 414 or 431 problem;
3. authentication: a key sent is checked (401 when wrong, 429 after too many wrong ones from one
   address); who asks is left in the WSGI environ for the app (``auth.current_viewer``);
4. rate limits, per client and route (:mod:`api.edge.limits`): a 429 problem when over;
5. the answer, from the response cache or the app;
6. conditional GET: a ``200`` of the API whose ``ETag`` the ``If-None-Match`` names becomes a
   ``304`` with no body (``If-Modified-Since`` is not honoured: timestamps have one-second
   precision, so a change within the same second would be missed);
7. CORS (any origin may read; preflights answered for reads), the rate-limit fields, the
   security headers (not on a 304) and ``X-Request-ID``;
8. one access-log line and the Prometheus metrics (:mod:`api.edge.observability`).

Flask only routes, authorizes and renders. The event loop (:mod:`api.edge.asgi`) calls the same
edge with ``HITS_ONLY`` set: the edge then answers only what the cache holds and what needs no
waiting (limits counted in memory), and returns :data:`DECLINED` otherwise, having counted
nothing, so the request can go to a thread.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.http import HTTP_STATUS_CODES, remove_entity_headers
from werkzeug.routing import Map

from api.accel.response_cache import ROUTE_KEY
from api.edge import observability
from api.edge.limits import RateLimits, Verdict
from api.web.auth import VIEWER_KEY, KeyRefused
from api.web.errors import (
    PROBLEM_JSON,
    REQUEST_ID_KEY,
    Problem,
    problem_body,
    problem_of,
    rate_limited,
    too_many_failed_authentications,
)

#: ``environ`` flag of a request the event loop asks about: answer it now, or not at all.
HITS_ONLY = "htcontent.hits_only"
#: What the edge returns for a ``HITS_ONLY`` request it cannot answer without waiting.
DECLINED: list[bytes] = []

#: The embeddable widget's files and demo (:mod:`api.web.embed`).
EMBED_PATH = "/embed/v1/"
MAX_URL_LENGTH = 8192
MAX_HEADER_LENGTH = 8192
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

#: The policy of every answer whose view sets none (a page sets its own: the docs, the demo).
JSON_CSP = "default-src 'none'; frame-ancestors 'none'"
_SECURITY = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
             ("X-Frame-Options", "DENY")]
#: Set on every response with a body.
SECURITY_HEADERS = tuple(name for name, _ in _SECURITY) + ("Content-Security-Policy",)

#: CORS: any origin reads (no credentials); writes are not offered to browsers of other sites.
CORS_METHODS = ("GET", "HEAD", "OPTIONS")
#: Response headers a script of another origin may read (Content-Language and Last-Modified
#: are CORS-safelisted: readable without this).
CORS_EXPOSE = ("ETag, Link, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, "
               "Retry-After, X-Request-ID")
CORS_REQUEST_HEADERS = frozenset({"accept-language", "if-none-match", "if-modified-since",
                                  "x-request-id"})
CORS_MAX_AGE = "600"
_CORS = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", CORS_EXPOSE)]
_KEY_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_X_API_KEY")


@dataclass
class Reply:
    """An answer on its way out: status line, headers and body."""

    status: str
    headers: list[tuple[str, str]]
    body: Iterable[bytes]
    cache: str | None = None  # "hit" when answered from the response cache


class Edge:
    """WSGI middleware in front of the response cache (when there is one) and the Flask app."""

    def __init__(self, app: Callable[..., Any], url_map: Map, base_path: str,
                 identify: Callable[[dict[str, Any]], Any], limits: RateLimits,
                 cache: Any = None) -> None:
        self.app = app  # the cache when there is one (it calls the Flask app on a miss)
        self.cache = cache
        self.url_map = url_map
        self.base_path = base_path
        #: Where a 200 with an ETag becomes a 304 when the client names it.
        self.conditional_paths = (base_path, EMBED_PATH)
        self.identify = identify
        self.limits = limits

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        started = time.perf_counter()
        hits_only = environ.pop(HITS_ONLY, False)
        method = environ.get("REQUEST_METHOD", "GET")
        oversized = _oversized(environ)
        stored = None
        if self.cache is not None and method in ("GET", "HEAD") and oversized is None:
            stored = self.cache.lookup(environ, wait=not hits_only)
        if hits_only and (stored is None or not self.limits.local):
            return DECLINED
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if REQUEST_ID.fullmatch(incoming) else os.urandom(16).hex()
        environ[REQUEST_ID_KEY] = request_id
        route = stored.route if stored is not None else self._route(environ)
        environ[ROUTE_KEY] = route
        refused, verdict, name = self._admit(environ, method, route, stored is not None,
                                             oversized)
        if refused is not None:
            reply = refused
        elif stored is not None:
            reply = Reply("200 OK", list(stored.headers),
                          [stored.body if method == "GET" else b""], "hit")
        else:
            reply = _call(self.app, environ)
        self._finish(environ, method, reply, verdict, request_id)
        start_response(reply.status, reply.headers)
        status = int(reply.status[:3])
        observability.observe(method, route or "unmatched", status, started, request_id,
                              environ.get("PATH_INFO", ""), name, environ.get("REMOTE_ADDR"),
                              reply.cache)
        return reply.body

    # ------------------------------------------------------------------------ on the way in

    def _route(self, environ: dict[str, Any]) -> str | None:
        """The URL rule the app will answer this request with (None: no route, 404 or 405)."""
        try:
            rule, _ = self.url_map.bind_to_environ(environ).match(return_rule=True)
        except Exception:  # not found, method not allowed, a redirect: no route
            return None
        return rule.rule  # type: ignore[no-any-return]

    def _admit(self, environ: dict[str, Any], method: str, route: str | None,
               anonymous: bool, oversized: Problem | None
               ) -> tuple[Reply | None, Verdict | None, str | None]:
        """The refusal of this request, if any (414, 431, 401, 429), the rate-limit verdict,
        and the key's name."""
        if oversized is not None:
            return self._problem(environ, oversized), None, None
        viewer = None
        client = environ.get("REMOTE_ADDR") or "unknown"
        if not anonymous and any(name in environ for name in _KEY_HEADERS):
            try:
                viewer = self.identify(environ)
            except Problem as refused:
                if isinstance(refused, KeyRefused):
                    wait = self.limits.failed_authentication(client)
                    if wait is not None:
                        refused = too_many_failed_authentications(wait)
                return self._problem(environ, refused), None, None
            except Exception as exc:  # the database cannot be reached, ...
                return self._problem(environ, problem_of(exc, environ)), None, None
        environ[VIEWER_KEY] = viewer
        name = getattr(viewer, "name", None)
        if route is None or method == "OPTIONS":
            return None, None, name
        identity = f"key:{name}" if name else f"ip:{client}"
        verdict = self.limits.hit(identity, route, name is not None)
        if not verdict.allowed:
            return self._problem(environ, rate_limited(str(verdict.item))), verdict, name
        return None, verdict, name

    @staticmethod
    def _problem(environ: dict[str, Any], problem: Problem) -> Reply:
        body = problem_body(problem, environ.get("PATH_INFO", ""), environ[REQUEST_ID_KEY])
        headers = [("Content-Type", PROBLEM_JSON), ("Content-Length", str(len(body))),
                   *problem.headers.items()]
        return Reply(f"{problem.status} {HTTP_STATUS_CODES[problem.status].upper()}", headers,
                     [body])

    # ----------------------------------------------------------------------- on the way out

    def _finish(self, environ: dict[str, Any], method: str, reply: Reply,
                verdict: Verdict | None, request_id: str) -> None:
        """Conditional GET, then the headers every answer gets."""
        path = environ.get("PATH_INFO", "")
        if (method in ("GET", "HEAD") and reply.status.startswith("200")
                and path.startswith(self.conditional_paths)):
            _conditional(environ, reply)
        headers = reply.headers
        headers.extend(_CORS)
        if method == "OPTIONS":
            headers.extend(_preflight(environ))
        if verdict is not None:
            headers.extend(verdict.headers())
        if not reply.status.startswith("304"):
            headers.extend(_SECURITY)
            if not any(name.lower() == "content-security-policy" for name, _ in headers):
                headers.append(("Content-Security-Policy", JSON_CSP))
        if verdict is not None:
            if not verdict.allowed:
                headers.append(("Retry-After", str(verdict.retry_after())))
            headers.extend(verdict.ietf_headers())
        headers.append(("X-Request-ID", request_id))


def _call(app: Callable[..., Any], environ: dict[str, Any]) -> Reply:
    """Run the WSGI ``app`` and take its status and headers (the body is passed on as it
    comes, never buffered here)."""
    captured: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured[:] = [status, headers]
        return _no_write

    body = app(environ, start_response)
    if not captured:  # an app that starts its answer with the first chunk
        body = list(body)
    status, headers = captured
    return Reply(status, list(headers), body)


def _no_write(data: bytes) -> None:
    raise RuntimeError("the app used WSGI's write(); return the body instead")


def _oversized(environ: dict[str, Any]) -> Problem | None:
    """A 414 or 431 problem for a URL or a header over the limits."""
    full_path = len(environ.get("PATH_INFO", "")) + 1 + len(environ.get("QUERY_STRING", ""))
    if full_path > MAX_URL_LENGTH:
        return Problem(414, f"The URL is longer than {MAX_URL_LENGTH} characters.")
    for name, value in environ.items():
        if (type(value) is str and len(value) > MAX_HEADER_LENGTH
                and (name.startswith("HTTP_") or name in ("CONTENT_TYPE", "CONTENT_LENGTH"))):
            header = (name[5:] if name.startswith("HTTP_") else name).replace("_", "-").title()
            return Problem(431, f"The {header} header is longer than {MAX_HEADER_LENGTH} "
                                "characters.")
    return None


def _conditional(environ: dict[str, Any], reply: Reply) -> None:
    """A 200 whose ETag the request's ``If-None-Match`` names becomes a 304, without a body."""
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match is None:
        return
    etag = next((value for name, value in reply.headers if name.lower() == "etag"), None)
    if etag is None or not etag_matches(if_none_match, etag):
        return
    close = getattr(reply.body, "close", None)
    if close is not None:
        close()
    kept = Headers(reply.headers)
    remove_entity_headers(kept)
    kept.remove("Link")
    reply.status, reply.headers, reply.body = "304 NOT MODIFIED", list(kept.items()), []


def etag_matches(if_none_match: str, etag: str, star: bool = True) -> bool:
    """An ``If-None-Match`` value names ``etag``: listed, in its ``W/`` form, or (``star``)
    ``*``."""
    tags = {tag.strip() for tag in if_none_match.split(",")}
    return etag in tags or ("W/" + etag) in tags or (star and "*" in tags)


def _preflight(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """The CORS preflight fields, for a read method asked for."""
    if environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "").upper() not in CORS_METHODS:
        return []
    asked = re.split(r",\s*", environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "").strip())
    allowed = sorted(name for name in asked if name.lower() in CORS_REQUEST_HEADERS)
    fields = [("Access-Control-Allow-Headers", ", ".join(allowed))] if allowed else []
    return [*fields, ("Access-Control-Max-Age", CORS_MAX_AGE),
            ("Access-Control-Allow-Methods", ", ".join(CORS_METHODS))]

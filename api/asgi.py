"""How gunicorn serves the app: an event loop per worker that answers what it can from memory.

gunicorn runs uvicorn's worker (uvloop, httptools; the ``Worker`` class in ``gunicorn.conf.py``,
kept out of this package so that gunicorn's master process never imports the app and a
``HUP`` loads new code) with the ASGI app from :func:`create_asgi_app`. For each request that
app first asks the response cache (:mod:`api.fastpath`) whether it can answer *now*: an
anonymous ``GET`` or ``HEAD`` whose answer is stored for the current data version, where
knowing that version and counting the rate limit need no database and no network (SQLite's
shared write counters, limits in memory). Such a request is answered in the event loop, with
the same headers, rate limit, request id, log line and metrics as on a thread. Everything
else (misses, writes, keyed requests, PostgreSQL without a trust window, limits kept in Redis)
goes to the Flask app, unchanged, on a pool of ``HTCONTENT_THREADS`` threads (a2wsgi), as a
threaded WSGI server would run it.

Why: with gunicorn's threaded worker every request crossed from the polling thread to a worker
thread and back, and went through gunicorn's pure-Python HTTP parser; that cost several times
what answering from memory costs (``bench/RESULTS.md``).
"""

from __future__ import annotations

import io
import logging
import os
from typing import Any

from a2wsgi import WSGIMiddleware
from a2wsgi.wsgi import build_environ

from . import fastpath

log = logging.getLogger(__name__)


class Front:
    """The ASGI app: stored answers from the event loop, everything else on threads."""

    def __init__(self, flask_app: Any, threads: int) -> None:
        self.flask_app = flask_app
        self.threaded = WSGIMiddleware(_terminated(flask_app), workers=threads)
        # Only with a response cache: without one, asking the WSGI chain would run the app.
        self.in_loop = "response_cache" in flask_app.extensions

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and any(b"_" in name for name, _ in scope["headers"]):
            # As gunicorn did: a header named with "_" would share its WSGI name with the one
            # named with "-" (X_Forwarded_For / X-Forwarded-For) and could stand in for it.
            scope = {**scope, "headers": [(name, value) for name, value in scope["headers"]
                                          if b"_" not in name]}
        if self.in_loop and scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            answer = self._answer_now(scope)
            if answer is not None:
                status, headers, body = answer
                await send({"type": "http.response.start", "status": status,
                            "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.threaded(scope, receive, send)

    def _answer_now(self, scope: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]],
                                                          bytes] | None:
        """The response cache's answer, if it has one it can give without waiting."""
        for name, value in scope["headers"]:
            # A body the app would have to read (or refuse) goes to the app.
            if (name == b"content-length" and value != b"0") or name == b"transfer-encoding":
                return None
        environ = build_environ(scope, io.BytesIO(b""))  # type: ignore[arg-type]
        environ[fastpath.HITS_ONLY] = True
        captured: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Any:
            captured[:] = [status, headers]
            return None

        try:
            # The whole WSGI chain (ProxyFix, the host check): the cache sees the request as
            # it does on a thread, and answers it or declines; the app itself is not called.
            result = self.flask_app.wsgi_app(environ, start_response)
            if result is fastpath.DECLINED:
                return None
            if result is fastpath.ANSWERED:
                return environ[fastpath.ANSWER]  # type: ignore[no-any-return]
            if not captured:
                return None
            body = b"".join(result)  # answered on the way, by the host check (a 400)
        except Exception:  # a bug here must not cost the answer: the thread path gives it
            log.exception("answering from the event loop failed; answering on a thread")
            return None
        status, headers = captured
        return int(status[:3]), fastpath.wire(headers), body


def _terminated(wsgi_app: Any) -> Any:
    """``wsgi_app`` told that ``wsgi.input`` ends where the request body ends (the server
    de-chunks it), so a body sent chunked, with no Content-Length, is read, not taken as
    empty. Flask still enforces ``MAX_CONTENT_LENGTH``."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        environ["wsgi.input_terminated"] = True
        return wsgi_app(environ, start_response)

    return app


def create_asgi_app() -> Front:
    """The app as gunicorn's ``Worker`` serves it (both in ``gunicorn.conf.py``);
    ``HTCONTENT_THREADS`` (default 4) threads per worker run the Flask app."""
    from . import create_app

    threads = int(os.environ.get("HTCONTENT_THREADS", "4"))
    if threads < 1:
        raise ValueError(f"HTCONTENT_THREADS must be 1 or more, not {threads}")
    return Front(create_app(), threads)

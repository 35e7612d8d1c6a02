"""How gunicorn serves the app: an event loop per worker that answers what it can from memory.

gunicorn runs uvicorn's worker (uvloop, httptools; the ``Worker`` class in ``gunicorn.conf.py``,
kept out of this package so that gunicorn's master process never imports the app and a
``HUP`` loads new code) with the ASGI app from :func:`create_asgi_app`. For each request that
app first asks the edge (:mod:`api.edge.pipeline`) whether it can answer *now*: an
anonymous ``GET`` or ``HEAD`` whose answer the response cache (:mod:`api.accel.response_cache`)
keeps for the current data version, where knowing that version and counting the rate limit need
no database and no network (SQLite's shared write counters, limits in memory). Such a request is
answered in the event loop by the same edge, with the same headers, rate limit, request id, log
line and metrics as on a thread. Everything
else (misses, writes, keyed requests, PostgreSQL without a trust window, limits kept in Redis)
goes to the Flask app, unchanged, on a pool of ``HTCONTENT_THREADS`` threads, as a threaded
WSGI server would run it: a request without a body in one hand-over each way
(:meth:`Front.threads`), one with a body through a2wsgi, which streams the body to the app.

Why: with gunicorn's threaded worker every request crossed from the polling thread to a worker
thread and back, and went through gunicorn's pure-Python HTTP parser; that cost several times
what answering from memory costs (``bench/RESULTS.md``).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import io
import logging
import os
from typing import Any

from a2wsgi import WSGIMiddleware
from a2wsgi.wsgi import build_environ

from api.edge.pipeline import DECLINED, HITS_ONLY
from api.web import errors

log = logging.getLogger(__name__)


class Front:
    """The ASGI app: stored answers from the event loop, everything else on threads."""

    def __init__(self, flask_app: Any, threads: int) -> None:
        self.flask_app = flask_app
        self.streaming = WSGIMiddleware(_terminated(flask_app), workers=threads)
        self.executor = self.streaming.executor  # the threads, for both ways of calling
        # Only with a response cache: without one, asking the WSGI chain would run the app.
        self.in_loop = "response_cache" in flask_app.extensions

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and any(b"_" in name for name, _ in scope["headers"]):
            # As gunicorn did: a header named with "_" would share its WSGI name with the one
            # named with "-" (X_Forwarded_For / X-Forwarded-For) and could stand in for it.
            scope = {**scope, "headers": [(name, value) for name, value in scope["headers"]
                                          if b"_" not in name]}
        if (self.in_loop and scope["type"] == "http" and scope["method"] in ("GET", "HEAD")
                and _bodyless(scope)):
            answer = self._answer_now(scope)
            if answer is not None:
                await _send(send, answer)
                return
        await self.threads(scope, receive, send)

    async def threads(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """The Flask app's answer, made on one of the threads. A request without a body is
        handed over once each way, and its whole answer comes back (a2wsgi hands every header
        block and body chunk over separately and the thread waits for the loop each time);
        one with a body goes through a2wsgi, which streams it to the app as it comes."""
        if scope["type"] != "http":
            await self.streaming(scope, receive, send)
            return
        if not _bodyless(scope):
            started = False

            async def watched(message: dict[str, Any]) -> None:
                nonlocal started
                started = started or message["type"] == "http.response.start"
                await send(message)

            try:
                await self.streaming(scope, receive, watched)
            except Exception:
                if started:  # too late for another answer: uvicorn closes the connection
                    raise
                await _send(send, _failure(scope))
            return
        environ = build_environ(scope, io.BytesIO(b""))  # type: ignore[arg-type]
        call = functools.partial(contextvars.copy_context().run, _whole_answer, self.flask_app)
        try:
            answer = await asyncio.get_running_loop().run_in_executor(self.executor, call,
                                                                      environ)
        except Exception:
            answer = _failure(scope)
        await _send(send, answer)

    def _answer_now(self, scope: dict[str, Any]) -> Answer | None:
        """The response cache's answer, if it has one it can give without waiting."""
        environ = build_environ(scope, io.BytesIO(b""))  # type: ignore[arg-type]
        environ[HITS_ONLY] = True
        try:
            # The whole WSGI chain (ProxyFix, the host check, the edge): the edge sees the
            # request as it does on a thread, and answers it or declines (no answer started);
            # the app itself is not called. The host check may answer on the way (a 400).
            result, answer = _run(self.flask_app.wsgi_app, environ)
        except Exception:  # a bug here must not cost the answer: the thread path gives it
            log.exception("answering from the event loop failed; answering on a thread")
            return None
        return None if result is DECLINED else answer


Answer = tuple[int, list[tuple[bytes, bytes]], bytes]

def _failure(scope: dict[str, Any]) -> Answer:
    """A 500 problem for a failure below Flask (Flask answers its own errors), logged with the
    request id the client is given (uvicorn's own answer would be a text page)."""
    request_id = os.urandom(16).hex()
    log.exception("the app failed to answer %s %s (request id %s)", scope["method"],
                  scope["path"], request_id)
    body = errors.problem_body(errors.internal_error(), scope["path"], request_id)
    return 500, [(b"content-type", errors.PROBLEM_JSON.encode()),
                 (b"x-request-id", request_id.encode())], body


async def _send(send: Any, answer: Answer) -> None:
    status, headers, body = answer
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _bodyless(scope: dict[str, Any]) -> bool:
    """The request has no body (none announced, or an empty one)."""
    for name, value in scope["headers"]:
        if (name == b"content-length" and value != b"0") or name == b"transfer-encoding":
            return False
    return True


def _run(wsgi_app: Any, environ: dict[str, Any]) -> tuple[Any, Answer | None]:
    """Run ``wsgi_app`` and collect its answer: what it returned, and its whole answer (None
    if it started none)."""
    captured: list[Any] = []
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Any:
        captured[:] = [status, headers]
        return chunks.append  # WSGI's write()

    result = wsgi_app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if not captured:
        return result, None
    status, headers = captured
    wire = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    return result, (int(status[:3]), wire, b"".join(chunks))


def _whole_answer(wsgi_app: Any, environ: dict[str, Any]) -> Answer:
    """The whole answer of ``wsgi_app`` (on a thread)."""
    _, answer = _run(wsgi_app, environ)
    if answer is None:
        raise RuntimeError("the WSGI app returned without starting a response")
    return answer


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
    from api import create_app

    threads = int(os.environ.get("HTCONTENT_THREADS", "4"))
    if threads < 1:
        raise ValueError(f"HTCONTENT_THREADS must be 1 or more, not {threads}")
    app = create_app()
    if app.config["WEBHOOKS_INLINE"]:
        from api.services import workers

        workers.start_inline(app)
    return Front(app, threads)

"""How gunicorn serves the app (api/edge/asgi.py): stored answers are given in the event loop,
identical to the threads' answers, also while every thread is busy; everything the loop cannot
answer without waiting (misses, keys, bodies, writes, limits in Redis, a version it would
have to read) goes to the Flask app on a thread; a write is seen at once; an unparseable
request gets a problem, not text or HTML."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from a2wsgi import WSGIMiddleware

from api import create_app
from api.config import TestConfig as AppConfig
from api.edge.asgi import Front
from tests.conftest import ROOT, free_port, is_postgres, stop

#: Headers that differ per request by design.
PER_REQUEST = {b"x-request-id", b"x-ratelimit-remaining", b"ratelimit-remaining",
               b"x-ratelimit-reset", b"ratelimit-reset"}
SINGLE = "/api/v1/hotlines/national-human-trafficking-hotline"


class Spy:
    """The front's thread path, counting the requests that reach it."""

    def __init__(self, threads: Any) -> None:
        self.threads = threads
        self.calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.calls += 1
        await self.threads(scope, receive, send)


class Answer:
    def __init__(self, messages: list[dict[str, Any]]) -> None:
        start = messages[0]
        self.status: int = start["status"]
        self.headers: dict[bytes, bytes] = dict(start["headers"])
        self.body = b"".join(m.get("body", b"") for m in messages[1:])

    def stable(self) -> dict[bytes, bytes]:
        return {k: v for k, v in self.headers.items() if k not in PER_REQUEST}


def front_of(app: Any, threads: int = 2) -> tuple[Front, Spy]:
    front = Front(app, threads)
    spy = Spy(front.threads)
    front.threads = spy  # type: ignore[method-assign]
    return front, spy


def call(front: Front, path: str, method: str = "GET", query: str = "",
         headers: tuple[tuple[bytes, bytes], ...] = (), body: bytes = b"",
         timeout: float = 60) -> Answer:
    async def run() -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
                 "query_string": query.encode(), "root_path": "",
                 "headers": [(b"host", b"localhost"), *headers],
                 "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000)}
        await asyncio.wait_for(front(scope, receive, send), timeout)
        return sent

    return Answer(asyncio.run(run()))


@pytest.fixture
def trusting_app(seeded_url: str) -> Any:
    """The seeded app with a trust window, so the loop may answer on PostgreSQL too."""
    return create_app({**AppConfig(seeded_url).as_dict(), "RESPONSE_CACHE_TRUST_MS": 60_000})


@pytest.mark.parametrize("path,query", [(SINGLE, ""), ("/api/v1/indicators", "limit=5"),
                                        ("/api/v1/search", "q=labor"), ("/api/v1", "")])
def test_stored_answers_come_from_the_loop_and_equal_the_threads_answers(trusting_app, path,
                                                                          query):
    front, spy = front_of(trusting_app)
    first = call(front, path, query=query)
    assert first.status == 200 and spy.calls == 1
    again = call(front, path, query=query)
    assert spy.calls == 1, "a stored answer should not need a thread"
    assert again.status == 200 and again.body == first.body
    assert again.stable() == first.stable()
    assert again.headers[b"x-request-id"] != first.headers[b"x-request-id"]
    head = call(front, path, method="HEAD", query=query)
    assert head.status == 200 and head.body == b"" and head.stable() == first.stable()
    etag = first.headers[b"etag"]
    not_modified = call(front, path, query=query, headers=((b"if-none-match", etag),))
    assert not_modified.status == 304 and not_modified.body == b""
    assert not_modified.headers[b"etag"] == etag
    assert spy.calls == 1
    # The rate limit is counted in the loop as on a thread.
    remaining = [int(a.headers[b"ratelimit-remaining"]) for a in (first, again, head,
                                                                   not_modified)]
    assert remaining == sorted(remaining, reverse=True) and len(set(remaining)) == 4


def test_a_stored_answer_is_given_while_every_thread_is_busy(trusting_app):
    front, spy = front_of(trusting_app, threads=1)
    assert call(front, SINGLE).status == 200
    release = threading.Event()
    busy = front.executor.submit(release.wait, 60)  # the only thread, taken
    try:
        answer = call(front, SINGLE, timeout=5)
        assert answer.status == 200 and b"national-human-trafficking-hotline" in answer.body
    finally:
        release.set()
        busy.result()


def test_a_single_record_read_is_answered_in_the_loop_from_its_rendition(trusting_app):
    """A single read no cache holds is one read of its stored rendition, answered and kept
    without the app (in the loop on SQLite; on a thread on PostgreSQL, whose reads wait for
    the network)."""
    front, spy = front_of(trusting_app)
    call(front, SINGLE)  # the data version is known to the loop
    calls = spy.calls
    answer = call(front, SINGLE, query="lang=es&fields=name")
    assert answer.status == 200 and answer.headers[b"content-language"] == b"es"
    assert b'"name":"L\xc3\xadnea' in answer.body and b'"channels"' not in answer.body
    again = call(front, SINGLE, query="lang=es&fields=name")
    assert again.body == answer.body and again.headers[b"etag"] == answer.headers[b"etag"]
    on_threads = 0 if trusting_app.config["DATABASE_URL"].startswith("sqlite") else 1
    assert spy.calls == calls + on_threads  # the second one is kept: in the loop anywhere


def test_a_page_no_cache_holds_is_answered_in_the_loop_from_renditions(trusting_app):
    """A page of a collection in id order is one range of stored renditions, answered and
    kept without the app (in the loop on SQLite)."""
    front, spy = front_of(trusting_app)
    call(front, SINGLE)  # the data version is known to the loop
    calls = spy.calls
    answer = call(front, "/api/v1/hotlines", query="limit=2&lang=es&fields=name")
    assert answer.status == 200 and answer.headers[b"content-language"] == b"es"
    assert b'"next_cursor":"i.0.' in answer.body and b"rel=\"next\"" in answer.headers[b"link"]
    on_threads = 0 if trusting_app.config["DATABASE_URL"].startswith("sqlite") else 1
    assert spy.calls == calls + on_threads


@pytest.mark.parametrize("case", ["key", "body", "post", "other condition", "miss", "metrics"])
def test_what_the_loop_cannot_answer_goes_to_the_app(trusting_app, case):
    front, spy = front_of(trusting_app)
    call(front, SINGLE)  # stored
    calls = spy.calls
    if case == "key":
        answer = call(front, SINGLE, headers=((b"authorization", b"Bearer nope"),))
        assert answer.status == 401
    elif case == "body":
        answer = call(front, SINGLE, headers=((b"content-length", b"2"),), body=b"{}")
        assert answer.status == 200
    elif case == "post":
        answer = call(front, "/api/v1/hotlines", method="POST",
                      headers=((b"content-type", b"application/json"),), body=b"{}")
        assert answer.status == 401
    elif case == "other condition":
        answer = call(front, SINGLE, headers=((b"if-modified-since",
                                               b"Sun, 01 Jan 2034 00:00:00 GMT"),))
        assert answer.status == 200  # not honoured (api/edge/pipeline.py): the full body
    elif case == "miss":
        answer = call(front, "/api/v1/hotlines", query="limit=2&lang=es&q=trata")
        assert answer.status == 200 and b'"total"' in answer.body
    else:
        answer = call(front, "/metrics")
        assert answer.status == 200
    assert spy.calls == calls + 1


def test_without_a_version_it_can_know_now_the_loop_asks_a_thread(seeded_url):
    """PostgreSQL with no trust window reads the version per request: never in the loop. On
    SQLite the shared write counters tell the loop nothing was written (here for up to a
    minute: a trust window on SQLite only stretches how long it trusts them)."""
    app = create_app({**AppConfig(seeded_url).as_dict(),
                      "RESPONSE_CACHE_TRUST_MS": 0 if is_postgres() else 60_000})
    front, spy = front_of(app)
    call(front, SINGLE)
    call(front, SINGLE)
    assert spy.calls == (2 if is_postgres() else 1)


def test_limits_kept_in_redis_are_counted_on_a_thread(seeded_url):
    app = create_app({**AppConfig(seeded_url).as_dict(), "RESPONSE_CACHE_TRUST_MS": 60_000,
                      "REDIS_URL": "redis://127.0.0.1:6379/0",
                      "RATELIMIT_KEY_PREFIX": "htcontent-test-asgi"})
    front, spy = front_of(app)
    first = call(front, SINGLE)
    again = call(front, SINGLE)
    assert first.status == again.status == 200 and again.body == first.body
    assert spy.calls == 2, "a Redis round trip must not block the event loop"
    assert int(again.headers[b"ratelimit-remaining"]) < int(first.headers[b"ratelimit-remaining"])


def test_the_limit_is_enforced_in_the_loop(seeded_url):
    app = create_app({**AppConfig(seeded_url).as_dict(), "RESPONSE_CACHE_TRUST_MS": 60_000,
                      "RATE_LIMIT_ANON": "3/minute"})
    front, spy = front_of(app)
    statuses = [call(front, SINGLE).status for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    refused = call(front, SINGLE)
    assert refused.headers[b"content-type"] == b"application/problem+json"


def test_a_write_is_seen_by_the_loop_at_once(editor_app):
    """A write through another app on the same database (another worker, as far as the
    counters and the version are concerned) is never hidden by the loop."""
    url = editor_app.config["DATABASE_URL"]
    reader = create_app(AppConfig(url))
    front, spy = front_of(reader)
    before = call(front, SINGLE)
    assert call(front, SINGLE).body == before.body
    if not is_postgres():
        assert spy.calls == 1, "the second read should have come from the loop"
    changed = editor_app.test_client().patch(
        SINGLE, json={"notes": {"en": "Changed by a test.", "es": "Cambiado."}},
        headers={**editor_app.keys.editor, "If-Match": before.headers[b"etag"].decode()})
    assert changed.status_code == 200, changed.text
    calls = spy.calls
    after = call(front, SINGLE)
    assert after.status == 200 and b"Changed by a test." in after.body
    assert after.headers[b"etag"] != before.headers[b"etag"]
    assert spy.calls == calls + 1, "after a write the version must be read again, on a thread"


def test_a_write_through_this_process_is_seen_at_once_even_with_a_trust_window(editor_app):
    """With a trust window the loop answers without reading the version, on PostgreSQL too;
    a write through the same process (on a thread) must still show at the next read."""
    url = editor_app.config["DATABASE_URL"]
    app = create_app({**AppConfig(url).as_dict(), "RESPONSE_CACHE_TRUST_MS": 60_000})
    front, spy = front_of(app)
    before = call(front, SINGLE)
    assert call(front, SINGLE).body == before.body and spy.calls == 1
    editor = tuple((name.lower().encode(), value.encode())
                   for name, value in editor_app.keys.editor.items())
    body = json.dumps({"notes": {"en": "Seen at once.", "es": "Visto."}}).encode()
    changed = call(front, SINGLE, method="PATCH",
                   headers=(*editor, (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"if-match", before.headers[b"etag"])), body=body)
    assert changed.status == 200, changed.body
    after = call(front, SINGLE)
    assert b"Seen at once." in after.body and after.headers[b"etag"] != before.headers[b"etag"]


def test_a_body_sent_chunked_is_read(editor_app):
    """Clients that stream a body (no Content-Length, Transfer-Encoding: chunked) are heard:
    the body is not taken as empty."""
    front, _spy = front_of(editor_app)
    before = call(front, SINGLE)
    editor = tuple((name.lower().encode(), value.encode())
                   for name, value in editor_app.keys.editor.items())
    changed = call(front, SINGLE, method="PATCH",
                   headers=(*editor, (b"content-type", b"application/json"),
                            (b"transfer-encoding", b"chunked"),
                            (b"if-match", before.headers[b"etag"])),
                   body=json.dumps({"notes": {"en": "Sent chunked.", "es": "Trozos."}}).encode())
    assert changed.status == 200, changed.body
    assert b"Sent chunked." in call(front, SINGLE).body


def test_a_header_named_with_an_underscore_cannot_stand_in_for_a_proxy_header(seeded_url):
    """Behind one proxy (HTCONTENT_PROXY_COUNT=1) the client is the last X-Forwarded-For
    entry; an X_Forwarded_For header (same WSGI name) must not choose a new client per
    request and so escape its rate limit."""
    app = create_app({**AppConfig(seeded_url).as_dict(), "PROXY_COUNT": 1,
                      "RATE_LIMIT_ANON": "3/minute"})
    front, _spy = front_of(app)
    statuses = [call(front, SINGLE, headers=((b"x-forwarded-for", b"203.0.113.7"),
                                             (b"x_forwarded_for", f"198.51.100.{n}".encode())))
                .status for n in range(5)]
    assert statuses == [200, 200, 200, 429, 429]


def test_a_request_that_is_not_http_gets_a_problem(live_url):
    host, port = live_url.removeprefix("http://").split(":")
    for raw in (b"HELLO\r\n\r\n", b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
                b"GET /api/v1?q=" + b"a" * 600_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"):
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(raw)
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 "), head
        assert b"content-type: application/problem+json" in head.lower()
        assert json.loads(body)["status"] == 400
    # and the server goes on serving
    assert requests.get(f"{live_url}/api/v1", timeout=10).status_code == 200


def test_a_hup_starts_workers_on_new_code(seeded_url, tmp_path):
    """gunicorn's master process never imports the app (the worker class lives in
    gunicorn.conf.py), so `kill -HUP` starts workers on the code on disk now."""
    root = tmp_path / "app"
    for name in ("api", "schemas", "seed"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("gunicorn.conf.py", "openapi.yaml"):
        shutil.copy(ROOT / name, root / name)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": seeded_url, "HTCONTENT_BIND": f"127.0.0.1:{port}",
           "HTCONTENT_WORKERS": "1", "PYTHONPATH": str(root)}
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    log = tmp_path / "gunicorn.log"
    with open(log, "ab") as log_file:
        process = subprocess.Popen([gunicorn, "-c", "gunicorn.conf.py"], cwd=root, env=env,
                                   stdout=subprocess.DEVNULL, stderr=log_file)
        try:
            def version() -> str | None:
                try:
                    return requests.get(f"http://127.0.0.1:{port}/api/v1",  # type: ignore[no-any-return]
                                        timeout=2).json()["version"]
                except (requests.RequestException, ValueError):
                    return None

            def wait_for(expected: str) -> None:
                deadline = time.monotonic() + 30
                while version() != expected:
                    assert process.poll() is None and time.monotonic() < deadline, \
                        log.read_text()[-2000:]
                    time.sleep(0.2)

            wait_for("1.0.0")
            meta = root / "api" / "web" / "meta.py"
            meta.write_text(meta.read_text().replace('API_VERSION = "1.0.0"',
                                                     'API_VERSION = "9.9.9"'))
            process.send_signal(signal.SIGHUP)
            wait_for("9.9.9")
        finally:
            stop(process)



@pytest.mark.parametrize("body", [b"", b'{"a": 1}'])
def test_a_failure_below_flask_on_a_thread_is_a_problem_not_a_text_page(app, caplog, body):
    """Flask answers its own errors; should the WSGI chain itself fail, the client still gets
    an RFC 9457 problem with a request id (uvicorn's own answer would be a text page), and it
    is logged with that id: for a request without a body and for one with a body."""
    front = Front(app, 1)

    def broken(environ: dict[str, Any], start_response: Any) -> Any:
        raise RuntimeError("secret detail")

    front.flask_app = broken
    front.streaming = WSGIMiddleware(broken, workers=1)
    front.in_loop = False
    try:
        answer = call(front, SINGLE, method="POST" if body else "GET", body=body,
                      headers=((b"content-length", str(len(body)).encode()),) if body else ())
    finally:
        front.executor.shutdown(wait=False)
        front.streaming.executor.shutdown(wait=False)
    assert answer.status == 500 and answer.headers[b"content-type"] == b"application/problem+json"
    problem = json.loads(answer.body)
    assert problem["status"] == 500 and problem["instance"] == SINGLE
    assert problem["request_id"] == answer.headers[b"x-request-id"].decode()
    assert b"secret" not in answer.body and b"Traceback" not in answer.body
    assert f"the app failed to answer {'POST' if body else 'GET'}" in caplog.text
    assert problem["request_id"] in caplog.text

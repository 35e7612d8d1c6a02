"""Retries, backoff and timeouts against a real local server that misbehaves on purpose."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from htcontent import APITimeoutError, Client, InternalServerError, RateLimitError

RECORD = {"data": {"id": "hsi-tip-line", "type": "hotline", "version": 1, "name": "HSI",
                   "organization": "ICE", "purpose": "report_tip", "channels": []}}


class Script:
    """What the server answers, request by request; every request is recorded."""

    def __init__(self) -> None:
        self.plan: list[str] = []
        self.seen: list[tuple[str, str, dict[str, str]]] = []


@pytest.fixture
def flaky() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self) -> None:
            script.seen.append((self.command, self.path, dict(self.headers)))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            step = script.plan.pop(0) if script.plan else "ok"
            if step == "drop":
                self.close_connection = True
                self.connection.close()
                return
            if step == "stall":
                time.sleep(1.5)
            status, headers = 200, {"Content-Type": "application/json", "ETag": '"r1-a"'}
            body = json.dumps(RECORD).encode()
            if step.startswith(("503", "429", "500")):
                status = int(step[:3])
                headers = {"Content-Type": "application/problem+json", "X-Request-ID": "rid-1"}
                if ":" in step:
                    headers["Retry-After"] = step.split(":")[1]
                body = json.dumps({"type": "about:blank", "title": "Unavailable",
                                   "status": status, "detail": "try later",
                                   "instance": self.path, "request_id": "rid-1"}).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", script
    server.shutdown()
    server.server_close()


def client_for(url: str, **kwargs: object) -> Client:
    return Client(url, backoff=0.01, max_backoff=0.05, **kwargs)  # type: ignore[arg-type]


def test_5xx_and_dropped_connections_are_retried(flaky):
    url, script = flaky
    script.plan = ["503:0", "drop", "500"]
    with client_for(url) as client:
        assert client.hotlines.get("hsi-tip-line").id == "hsi-tip-line"
    assert len(script.seen) == 4


def test_retry_after_is_honoured(flaky):
    url, script = flaky
    script.plan = ["429:1"]
    started = time.monotonic()
    with client_for(url) as client:
        client.hotlines.get("hsi-tip-line")
    assert time.monotonic() - started >= 1.0
    assert len(script.seen) == 2


def test_giving_up_raises_with_status_and_request_id(flaky):
    url, script = flaky
    script.plan = ["429:0"] * 5
    with client_for(url, max_retries=2) as client, pytest.raises(RateLimitError) as caught:
        client.hotlines.get("hsi-tip-line")
    assert caught.value.status == 429 and caught.value.request_id == "rid-1"
    assert caught.value.retry_after == 0
    assert len(script.seen) == 3


def test_a_stalled_server_times_out(flaky):
    url, script = flaky
    script.plan = ["stall", "stall"]
    with client_for(url, timeout=0.3, max_retries=1) as client, \
            pytest.raises(APITimeoutError):
        client.hotlines.get("hsi-tip-line")
    assert len(script.seen) == 2


def test_creates_are_retried_with_the_same_idempotency_key(flaky):
    url, script = flaky
    script.plan = ["503:0", "503:0"]
    with client_for(url) as client:
        client.hotlines.create({"id": "x"})
    posts = [headers for method, _path, headers in script.seen if method == "POST"]
    assert len(posts) == 3 and len({h["Idempotency-Key"] for h in posts}) == 1


def test_updates_are_not_retried(flaky):
    url, script = flaky
    script.plan = ["503:0"]
    with client_for(url) as client, pytest.raises(InternalServerError):
        client.hotlines.update("hsi-tip-line", {"notes": None}, if_match='"r1-a"')
    assert [method for method, _path, _headers in script.seen] == ["PATCH"]


def test_every_request_has_a_timeout_and_a_user_agent(flaky):
    url, script = flaky
    seen_timeouts = []

    class Recording(requests.Session):
        def request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            seen_timeouts.append(kwargs.get("timeout"))
            return super().request(*args, **kwargs)

    with Client(url, session=Recording()) as client:
        client.hotlines.get("hsi-tip-line")
    assert seen_timeouts == [5.0]
    assert script.seen[0][2]["User-Agent"].startswith("htcontent/")

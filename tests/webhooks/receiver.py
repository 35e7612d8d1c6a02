"""A webhook receiver on loopback for tests: it records every request (headers, body, when it
started and ended) and answers as told; it can be stopped and started again on its port."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    started: float
    finished: float = 0.0
    status: int = 0

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """``answer(received) -> status`` (or ``(status, seconds to wait first)``) decides each
    answer; by default 204."""

    answer: Callable[[Received], Any] = lambda received: 204
    requests: list[Received] = field(default_factory=list)
    #: Every request as it arrives (``requests`` has them once answered).
    arrivals: list[Received] = field(default_factory=list)
    port: int = 0
    _server: http.server.ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("content-length") or 0)
                got = Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                               self.rfile.read(length), time.monotonic())
                with receiver._lock:
                    receiver.arrivals.append(got)
                told = receiver.answer(got)
                status, wait = told if isinstance(told, tuple) else (told, 0)
                if wait:
                    time.sleep(wait)
                got.status = status
                body = (b"" if status in (204, 304) else
                        b'{"ok": true}' if 200 <= status < 300 else b"x" * 5000)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the sender gave up (a timeout)
                    pass
                got.finished = time.monotonic()
                with receiver._lock:
                    receiver.requests.append(got)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def succeeded(self) -> list[Received]:
        with self._lock:
            return [got for got in self.requests if 200 <= got.status < 300]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """The first ``count`` successful deliveries, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = self.succeeded()
            if len(done) >= count:
                return done
            time.sleep(0.02)
        raise AssertionError(f"{len(self.succeeded())} of {count} deliveries arrived")

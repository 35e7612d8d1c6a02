"""Structured JSON logs (one line per request) and Prometheus metrics at ``/metrics``, both
written by the edge (:func:`observe`) for every answer, whoever gave it.

Under gunicorn, set ``PROMETHEUS_MULTIPROC_DIR`` (gunicorn.conf.py does) so every worker's
counts add up in one scrape.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from flask import Flask
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter("htcontent_http_requests_total", "HTTP requests answered",
                   ["method", "route", "status"])
LATENCY = Histogram("htcontent_http_request_duration_seconds", "Time to answer a request",
                    ["method", "route", "status"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
access_log = logging.getLogger("htcontent.access")


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object: time, level, message and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class AccessLogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The JSON-lines handler. :func:`log_request` writes to it directly, skipping the
    ``LogRecord`` (the line is the same); anything else goes through :class:`JsonFormatter`."""

    def write_entry(self, entry: dict[str, Any]) -> None:
        line = orjson.dumps(entry, default=str) + b"\n"
        descriptor = self._descriptor()
        if descriptor is not None:  # one write call, under the lock other records take too
            self.acquire()
            try:
                os.write(descriptor, line)
            except OSError:  # a closed or full stream must not fail the request
                pass
            finally:
                self.release()
            return
        self.acquire()
        try:
            buffer = getattr(self.stream, "buffer", None)
            if buffer is not None:
                self.stream.flush()
                buffer.write(line)
                buffer.flush()
            else:
                self.stream.write(line.decode())
                self.flush()
        except Exception:  # a closed or full stream must not fail the request
            pass
        finally:
            self.release()


    def _descriptor(self) -> int | None:
        """The stream's file descriptor, when it is a real file (not a test's capture)."""
        try:
            return int(self.stream.fileno())
        except (AttributeError, OSError, ValueError):
            return None


def configure_logging(app: Flask) -> None:
    """JSON lines on stderr for the access log and the app's own messages."""
    handler = AccessLogHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for logger in (access_log, app.logger):
        logger.handlers = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False


_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}


def observe(method: str, route: str, status: int, started: float, request_id: str, path: str,
            key: str | None, client: str | None, cache: str | None) -> None:
    """Count, time and log one answered request (``route``: its URL rule, or "unmatched")."""
    duration = time.perf_counter() - started
    if route != "/metrics":
        labels = (method, route, str(status))
        children = _children.get(labels)
        if children is None:
            children = (REQUESTS.labels(*labels), LATENCY.labels(*labels))
            if len(_children) < 10_000:
                _children[labels] = children
        children[0].inc()
        children[1].observe(duration)
    more = {"cache": cache} if cache else {}
    log_request(request_id, method, path, route, status, duration, key, client, **more)


def log_request(request_id: str | None, method: str, path: str, route: str, status: int,
                duration: float, key: str | None, client: str | None, **more: Any) -> None:
    """The access-log line: one JSON object per request (the key's name, never the key)."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    fields = {"request_id": request_id, "method": method, "path": path, "route": route,
              "status": status, "duration_ms": round(duration * 1000, 3), "key": key,
              "client": client, **more}
    handlers = access_log.handlers
    if len(handlers) == 1 and isinstance(handlers[0], AccessLogHandler):
        handlers[0].write_entry({
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "level": "info",
            "logger": access_log.name, "message": "request", **fields})
    else:
        access_log.info("request", extra={"fields": fields})


METRICS_MEDIA_TYPE = CONTENT_TYPE_LATEST.split(";")[0]


def metrics_text() -> bytes:
    """Prometheus text format: request counts and latency by route and status."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()

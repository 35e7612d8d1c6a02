"""Structured JSON logs (one line per request) and Prometheus metrics at ``/metrics``.

Under gunicorn, set ``PROMETHEUS_MULTIPROC_DIR`` (gunicorn.conf.py does) so every worker's
counts add up in one scrape.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, request
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
        return json.dumps(entry, ensure_ascii=False)


def _configure_logging(app: Flask) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for logger in (access_log, app.logger, logging.getLogger("flask-limiter")):
        logger.handlers = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False


def _start_timer() -> None:
    g.started = time.perf_counter()


def _record(response: Response) -> Response:
    started = g.get("started")
    if started is None:
        return response
    duration = time.perf_counter() - started
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    if route != "/metrics":
        status = str(response.status_code)
        REQUESTS.labels(request.method, route, status).inc()
        LATENCY.labels(request.method, route, status).observe(duration)
    viewer = g.get("viewer")
    access_log.info("request", extra={"fields": {
        "request_id": g.get("request_id"), "method": request.method, "path": request.path,
        "route": route, "status": response.status_code,
        "duration_ms": round(duration * 1000, 3),
        "key": getattr(viewer, "name", None),  # the key's name, never the key
        "client": request.remote_addr,
    }})
    return response


METRICS_MEDIA_TYPE = CONTENT_TYPE_LATEST.split(";")[0]


def metrics_text() -> bytes:
    """Prometheus text format: request counts and latency by route and status."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()


def init_app(app: Flask) -> None:
    """Register first: its timer starts before, and its log line is written after, all else."""
    _configure_logging(app)
    app.before_request(_start_timer)
    app.after_request(_record)

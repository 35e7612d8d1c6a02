"""gunicorn settings for `make run` and the cluster (override with GUNICORN_CMD_ARGS)."""

import os
import tempfile

bind = os.environ.get("HTCONTENT_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("HTCONTENT_WORKERS", "2"))
# An event loop per worker (uvicorn's worker: uvloop, httptools) answers stored answers from
# memory; everything else runs on HTCONTENT_THREADS threads per worker (default 4). See api/asgi.py.
worker_class = "api.asgi.Worker"
timeout = 30
graceful_timeout = 20
keepalive = 5
# The app writes one JSON line per request (request id, key name, status, duration) to stderr;
# gunicorn's own access log is off unless asked for.
accesslog = os.environ.get("HTCONTENT_ACCESS_LOG") or None
wsgi_app = "api.asgi:create_asgi_app()"

# Prometheus: every worker writes its counts to this directory so one scrape sees them all.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _metrics_dir = tempfile.mkdtemp(prefix="htcontent-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def child_exit(server, worker):  # noqa: ANN001 - gunicorn's hook signature
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)

"""gunicorn settings for `make run` and the cluster (override with GUNICORN_CMD_ARGS)."""

import json
import os
import tempfile

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker

bind = os.environ.get("HTCONTENT_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("HTCONTENT_WORKERS", "2"))
timeout = 30
graceful_timeout = 20
keepalive = 5
# The app writes one JSON line per request (request id, key name, status, duration) to stderr;
# gunicorn's own access log is off unless asked for.
accesslog = os.environ.get("HTCONTENT_ACCESS_LOG") or None
wsgi_app = "api.edge.asgi:create_asgi_app()"


# The worker: an event loop per worker (uvicorn's worker: uvloop, httptools) answers stored
# answers from memory; everything else runs on HTCONTENT_THREADS threads per worker (default 4).
# See api/edge/asgi.py. Defined here, not in the app's package: gunicorn's master process imports
# the worker class and must not import the app, so that a HUP starts workers on new code.
class Protocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol (httptools), with an RFC 9457 problem for a request that
    cannot be parsed, instead of a plain-text line."""

    BODY = json.dumps({"type": "about:blank", "title": "Bad Request", "status": 400,
                       "detail": "The request is not valid HTTP/1.1 (request line, header "
                                 "syntax or size).", "request_id": ""}).encode()

    def send_400_response(self, msg: str) -> None:
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.append(b"content-type: application/problem+json\r\ncontent-length: "
                    + str(len(self.BODY)).encode() + b"\r\nconnection: close\r\n\r\n")
        self.transport.write(b"".join(head) + self.BODY)
        self.transport.close()


class Worker(UvicornWorker):
    """uvicorn's worker with uvloop and :class:`Protocol`; no proxy headers (the app's own
    HTCONTENT_PROXY_COUNT decides whom to trust), no Server header, and uvicorn's access log
    only when gunicorn's is asked for (HTCONTENT_ACCESS_LOG): the app writes one JSON line per
    request."""

    CONFIG_KWARGS = {"loop": "uvloop", "http": Protocol, "proxy_headers": False,  # noqa: RUF012
                     "server_header": False, "lifespan": "off"}

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - gunicorn's signature
        super().__init__(*args, **kwargs)
        self.config.access_log = bool(self.cfg.accesslog)


worker_class = Worker

# Prometheus: every worker writes its counts to this directory so one scrape sees them all.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _metrics_dir = tempfile.mkdtemp(prefix="htcontent-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def child_exit(server, worker):  # noqa: ANN001 - gunicorn's hook signature
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
